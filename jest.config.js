/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  testTimeout: 60000,
  // Real servers (Azurite, oidc-provider, oauthlib) start per file; keep output readable.
  verbose: false,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
