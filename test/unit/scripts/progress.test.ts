/**
 * Progress on long work: `npm test`'s prerequisite check announces the apt install it performs (and
 * says so when none is needed), and the bench prints a line per section and per figure as it goes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const { installPlan } = require(path.join(ROOT, 'scripts/check-test-prereqs.js')) as {
  installPlan(missing: string[], env: { isRoot: boolean; hasApt: boolean }): { note?: string; error?: string; commands: Array<[string, string[]]> };
};

describe('the test prerequisite check', () => {
  test('when packages are missing and it may use apt, then its note names the packages and the exact apt commands it runs', () => {
    const plan = installPlan(['chromium', 'python3-oauthlib'], { isRoot: true, hasApt: true });
    expect(plan.commands).toEqual([
      ['apt-get', ['update', '-qq']],
      ['apt-get', ['install', '-y', '-qq', 'chromium', 'python3-oauthlib']],
    ]);
    expect(plan.note).toContain('installing the missing Debian packages chromium python3-oauthlib');
    expect(plan.note).toContain('apt-get update -qq && apt-get install -y -qq chromium python3-oauthlib');
  });

  test('when it may not install, then it runs nothing and says which command to run', () => {
    const plan = installPlan(['chromium'], { isRoot: false, hasApt: true });
    expect(plan.commands).toEqual([]);
    expect(plan.error).toContain('sudo apt-get install -y chromium');
  });

  test('on this machine (prerequisites installed), running it says that no install is needed', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts/check-test-prereqs.js')], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('Test prerequisites: chromium, python3-oauthlib present; no apt install needed.\n');
  });
});

test('the bench prints each section as it starts and each figure as soon as it is measured, before the summary', () => {
  const results = path.join(mkdtempSync(path.join(tmpdir(), 'bench-')), 'latest.json');
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bench/run.js'), '--quick', '--only', 'signing', '--results', results], { encoding: 'utf8', timeout: 60_000 });
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n');
  const sectionLine = lines.findIndex((l) => / section 1\/1: signing…$/.test(l));
  const figureLine = lines.findIndex((l) => / figure 1 done in \d+ s: OAuth 1\.0a signed request .* — ratio [\d.]+ \[(MET|UNMET)\]$/.test(l));
  const summaryLine = lines.findIndex((l) => l.startsWith('Results ('));
  expect(sectionLine).toBeGreaterThanOrEqual(0);
  expect(figureLine).toBeGreaterThan(sectionLine);
  expect(summaryLine).toBeGreaterThan(figureLine);
  expect(JSON.parse(readFileSync(results, 'utf8')).figures.map((f: { id: string }) => f.id)).toEqual(['oauth1-signing']);
});
