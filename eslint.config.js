// Flat config: typescript-eslint recommended everywhere; Node globals for the server side, browser
// globals for the pages' scripts; and a fence around orchestrations, which Durable Functions replays
// and which therefore must stay deterministic and free of I/O.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

const PAGE_SCRIPTS = ['src/pages/assets/**/*.js'];

const readonly = (names) => Object.fromEntries(names.map((name) => [name, 'readonly']));

const NO_IO = 'Orchestrations do no I/O; do it in an activity.';

/** What orchestrations must not import: the rooms that do I/O or read settings, and I/O modules. */
const ORCHESTRATION_FORBIDDEN_IMPORTS = {
  paths: ['axios', 'crypto', 'fs', 'fs/promises', 'http', 'https', 'http2', 'net', 'dns', 'child_process', 'os', 'timers', 'timers/promises']
    .map((name) => ({ name, message: NO_IO })),
  patterns: [
    { group: ['**/services', '**/services/*'], message: 'Orchestrations call activities; services run in functions.' },
    { group: ['**/config', '**/config/*', '**/runtime'], message: 'Orchestrations read no settings; pass them as input.' },
    {
      group: ['**/functions/*', '**/storage/*', '**/secrets/*', '**/oauth/*', '**/http/*', '**/webhooks/*', '**/crypto', '**/crypto/*', '**/providers/*', '**/proxy/*'],
      message: NO_IO,
    },
    { group: ['node:*', '@azure/*', 'axios/*'], message: NO_IO },
  ],
};

module.exports = tseslint.config(
  { ignores: ['dist/**', 'sdk/dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', '.azurite/**', '.devhost/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    ignores: PAGE_SCRIPTS,
    languageOptions: {
      globals: {
        ...readonly(['require', 'process', '__dirname', 'console', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'URL', 'URLSearchParams']),
        module: 'writable',
      },
    },
  },
  {
    files: PAGE_SCRIPTS,
    languageOptions: {
      sourceType: 'script',
      globals: readonly(['window', 'document', 'location', 'sessionStorage', 'fetch', 'FormData', 'Node', 'URLSearchParams', 'URL', 'setTimeout', 'setInterval', 'clearInterval', 'navigator', 'CustomEvent']),
    },
    rules: { strict: ['error', 'global'] },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/orchestrations/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', ORCHESTRATION_FORBIDDEN_IMPORTS],
      'no-restricted-globals': ['error',
        ...['process', 'fetch', 'crypto', 'performance', 'setTimeout', 'setInterval', 'setImmediate', 'require'].map((name) => ({
          name,
          message: 'Orchestrations replay: no I/O, settings or wall-clock timers (use context.df.* or an activity).',
        })),
      ],
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Use context.df.currentUtcDateTime.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime.' },
        { selector: "CallExpression[callee.name='Date']", message: 'Use context.df.currentUtcDateTime.' },
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Orchestrations read no settings; pass them as input.' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use context.df.newGuid() or derive from input.' },
        { selector: 'ImportExpression', message: 'Orchestrations load no modules at replay time.' },
      ],
    },
  },
);
