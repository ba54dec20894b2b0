/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    // oauth4webapi ships ES modules only; Node loads them with require(esm), Jest's CommonJS runtime cannot.
    '/node_modules/oauth4webapi/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!oauth4webapi/)'],
  testTimeout: 60000,
  // Real servers (Azurite, oidc-provider, oauthlib) start per file; keep output readable.
  verbose: false,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
