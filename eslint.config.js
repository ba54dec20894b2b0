// Flat config: typescript-eslint recommended everywhere, plus a fence around orchestrations,
// which Durable Functions replays and therefore must stay deterministic and free of I/O.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'sdk/dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', '.azurite/**', '.devhost/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', URLSearchParams: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    files: ['src/orchestrations/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: ['axios', '@azure/*', 'crypto', 'node:*', '../activities/*', '../storage/*', '../secrets/*', '../oauth/*'],
      }],
      'no-restricted-syntax': ['error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Use context.df.currentUtcDateTime.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime.' },
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Orchestrations read no settings; pass them as input.' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use context.df.newGuid() or derive from input.' },
      ],
    },
  },
);
