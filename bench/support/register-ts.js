'use strict';
/**
 * Lets plain node `require()` the benches' TypeScript (and the e2e world they reuse) in place, by
 * transpiling each .ts file on load. In place matters: the test support resolves its provider scripts
 * (.mjs, .py) and the repository root relative to `__dirname`, which a compiled copy elsewhere would
 * break. Type checking is `npx tsc --noEmit -p tsconfig.test.json` (it includes bench/**).
 */
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  resolveJsonModule: true,
  sourceMap: false,
  inlineSourceMap: true,
};

require.extensions['.ts'] = function loadTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
