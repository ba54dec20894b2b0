/**
 * The repository's ESLint config (eslint.config.js), through ESLint's Node API, on snippets linted as
 * if they were files at the given paths: the fence around src/orchestrations fires on what would break
 * replay (imports of the rooms that do I/O or read settings, I/O modules, wall-clock time, randomness,
 * settings), and the pages' scripts are checked as browser code.
 */
import path from 'node:path';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../../..');

async function ruleIds(code: string, file = 'src/orchestrations/fence-probe.ts'): Promise<string[]> {
  // The config is passed in rather than discovered: discovery imports it with import(), which Jest's VM lacks.
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: true, overrideConfig: require(path.join(ROOT, 'eslint.config.js')) });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`);
}

describe('the orchestration lint fence', () => {
  test.each([
    ['../services/token', 'a service'],
    ['../services', 'the services folder'],
    ['../config', 'the settings'],
    ['../config/return-urls', 'a settings module'],
    ['../runtime', 'the runtime'],
    ['../storage/connections-repo', 'storage'],
    ['../secrets/broker-secrets', 'secrets'],
    ['../oauth/http', 'outbound OAuth HTTP'],
    ['../crypto', 'encryption'],
    ['../functions/http-token', 'a function adapter'],
    ['axios', 'outbound HTTP'],
    ['@azure/data-tables', 'an Azure SDK'],
    ['node:crypto', 'randomness'],
    ['node:fs', 'files'],
    ['fs', 'files'],
    ['node:https', 'outbound HTTP'],
    ['http', 'outbound HTTP'],
  ])("importing '%s' is refused (%s)", async (specifier) => {
    expect(await ruleIds(`import * as probe from '${specifier}';\nexport const used = probe;\n`)).toEqual(['no-restricted-imports']);
  });

  test.each([
    ['export const now = Date.now();', ['no-restricted-syntax']],
    ['export const now = new Date();', ['no-restricted-syntax']],
    ['export const now = Date();', ['no-restricted-syntax']],
    ['export const pick = Math.random();', ['no-restricted-syntax']],
    ['export const url = process.env.BROKER_BASE_URL;', ['no-restricted-globals', 'no-restricted-syntax']],
    ["export const answer = fetch('http://127.0.0.1/');", ['no-restricted-globals']],
    ['export const id = crypto.randomUUID();', ['no-restricted-globals']],
    ['setTimeout(() => undefined, 10);', ['no-restricted-globals']],
    ['export const started = performance.now();', ['no-restricted-globals']],
    ["export const client = require('axios');", ['no-restricted-globals']],
    ["export const late = import('../services/token');", ['no-restricted-syntax']],
  ])('%s is refused', async (code, expected) => {
    expect((await ruleIds(code)).sort()).toEqual(expected);
  });

  test('deterministic orchestration code passes', async () => {
    const clean = [
      "import * as df from 'durable-functions';",
      "import { Activities } from '../durable/names';",
      "import { refreshDueAtMs } from '../domain/refresh-policy';",
      'export const orchestrator = df.app.orchestration;',
      'export function* run(context: df.OrchestrationContext, input: { connectionId: string }): Generator<unknown, number, unknown> {',
      '  const now = context.df.currentUtcDateTime.getTime();',
      '  const at = new Date(refreshDueAtMs(now, 60_000, 0));',
      '  yield context.df.createTimer(at);',
      '  yield context.df.callActivity(Activities.refreshToken, input);',
      '  return now;',
      '}',
    ].join('\n');
    expect(await ruleIds(clean)).toEqual([]);
  });

  test('the same imports outside src/orchestrations are not fenced', async () => {
    const code = "import { getConfig } from '../config';\nimport { randomUUID } from 'node:crypto';\nexport const used = [getConfig, randomUUID, Date.now()];\n";
    expect(await ruleIds(code, 'src/services/fence-probe.ts')).toEqual([]);
  });
});

describe('the pages\' scripts', () => {
  const PAGE_SCRIPT = 'src/pages/assets/probe.js';

  test('are browser scripts: DOM globals are known, Node globals are not', async () => {
    const code = "'use strict';\ndocument.getElementById('x').textContent = location.pathname + sessionStorage.getItem('k');\n";
    expect(await ruleIds(code, PAGE_SCRIPT)).toEqual([]);
    expect(await ruleIds("'use strict';\nrequire('node:fs').readFileSync(process.argv[1]);\n", PAGE_SCRIPT)).toEqual(['no-undef', 'no-undef']);
  });

  test('are checked by the recommended rules and must be strict', async () => {
    expect(await ruleIds("'use strict';\nvar unused = 1;\n", PAGE_SCRIPT)).toEqual(['@typescript-eslint/no-unused-vars']);
    expect(await ruleIds("document.title = 'x';\n", PAGE_SCRIPT)).toEqual(['strict']);
  });
});
