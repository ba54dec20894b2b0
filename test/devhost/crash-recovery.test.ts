/**
 * SIGKILL loses nothing acknowledged: instances waiting for an event, for a timer and in the middle of
 * an activity all finish after the host is started again on the same storage.
 */
import { existsSync, readFileSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type TestAzurite } from './support';

let azurite: TestAzurite;
let appDir: string;
let scratch: string;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'devhost-crash-'));
}, 60_000);

afterAll(async () => {
  for (const h of hosts) await h.kill('SIGKILL');
  await azurite?.stop();
  removeDir(appDir);
  removeDir(scratch);
});

async function post(url: string, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
}

test('after SIGKILL and a restart, waiting, sleeping and working instances complete exactly once (activities at least once)', async () => {
  const env = { AzureWebJobsStorage: azurite.connectionString };
  const first = await spawnHost(appDir, env);
  hosts.push(first);
  const W = `${first.url}/runtime/webhooks/durabletask`;
  const marker = path.join(scratch, 'slow-runs.txt');

  expect((await post(`${W}/orchestrators/Approval/waits-for-event`, { timeoutMs: 600_000 })).status).toBe(202);
  expect((await post(`${W}/orchestrators/TimerThenWork/waits-for-timer`, 2500)).status).toBe(202);
  expect((await post(`${W}/orchestrators/TwoEvents/half-delivered`)).status).toBe(202);
  expect((await post(`${W}/instances/half-delivered/raiseEvent/First`, 'before')).status).toBe(202);
  expect((await post(`${W}/orchestrators/SlowWork/mid-activity`, { file: marker, ms: 1500 })).status).toBe(202);
  await eventually(async () => (existsSync(marker) ? true : undefined), 10_000, 'the slow activity to start');
  await eventually(async () => {
    const s = (await (await fetch(`${W}/instances/waits-for-event`)).json()) as { customStatus: unknown };
    return s.customStatus === 'waiting' || undefined;
  });

  const killed = await first.kill('SIGKILL');
  expect(killed.signal).toBe('SIGKILL');

  const second = await spawnHost(appDir, env, first.port);
  hosts.push(second);
  expect(second.output()).toMatch(/Resumed \d+ unfinished orchestration instance/);
  expect((await post(`${W}/instances/waits-for-event/raiseEvent/Approve`, 'after restart')).status).toBe(202);
  expect((await post(`${W}/instances/half-delivered/raiseEvent/Second`, 'after')).status).toBe(202);

  const approved = await waitForFinish(second.url, 'waits-for-event');
  expect(approved.output).toEqual({ outcome: 'approved', by: 'after restart' });
  expect(approved.historyEvents!.filter((e) => e.EventType === 'EventRaised')).toHaveLength(1);

  const timed = await waitForFinish(second.url, 'waits-for-timer');
  expect(timed.output).toBe('Hello after timer');
  // 2.5 s is a long timer here (segments of 400 ms): each segment fires exactly once.
  const fired = timed.historyEvents!.filter((e) => e.EventType === 'TimerFired').map((e) => e.FireAt);
  expect(new Set(fired).size).toBe(fired.length);
  expect(fired).toHaveLength(timed.historyEvents!.filter((e) => e.EventType === 'TimerCreated').length);
  expect(timed.historyEvents!.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(1);

  expect((await waitForFinish(second.url, 'half-delivered')).output).toEqual(['before', 'after']);

  const slow = await waitForFinish(second.url, 'mid-activity');
  expect(slow.output).toBe('slow done');
  expect(slow.historyEvents!.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(1);
  expect(readFileSync(marker, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
}, 90_000);

test('continueAsNew chains lose and repeat nothing across SIGKILL, SIGTERM and restarts', async () => {
  const env = { AzureWebJobsStorage: azurite.connectionString };
  let host = await spawnHost(appDir, env);
  hosts.push(host);
  const W = () => `${host.url}/runtime/webhooks/durabletask`;
  const port = host.port;
  expect((await post(`${W()}/orchestrators/Counter/counts-across-crashes`)).status).toBe(202);
  expect((await post(`${W()}/orchestrators/RefreshLoop/loops-across-crashes`, { everyMs: 150, rounds: 12 })).status).toBe(202);

  // Each event is acknowledged before the host goes down, right while the generation it ends is being continued.
  for (const [value, signal] of [['a', 'SIGKILL'], ['b', 'SIGTERM']] as const) {
    expect((await post(`${W()}/instances/counts-across-crashes/raiseEvent/Add`, value)).status).toBe(202);
    await host.kill(signal);
    host = await spawnHost(appDir, env, port);
    hosts.push(host);
  }
  expect((await post(`${W()}/instances/counts-across-crashes/raiseEvent/Add`, 'c')).status).toBe(202);

  const counted = await waitForFinish(host.url, 'counts-across-crashes');
  expect(counted.output).toEqual({ n: 3, seen: ['a', 'b', 'c'] });
  const looped = await waitForFinish(host.url, 'loops-across-crashes', 30_000);
  expect(looped.runtimeStatus).toBe('Completed');
  expect(looped.output).toHaveLength(12);
}, 90_000);

test('SIGTERM stops the host within 5 seconds', async () => {
  const host = await spawnHost(appDir, { AzureWebJobsStorage: azurite.connectionString });
  hosts.push(host);
  await fetch(`${host.url}/api/echo/1`);
  const started = Date.now();
  const exit = await host.kill('SIGTERM');
  expect(Date.now() - started).toBeLessThan(5000);
  expect(exit.code).toBe(0);
}, 60_000);
