/**
 * The test fault switches (devhost/README.md, "Fault switches"): each is off by default and does
 * what it says when set in the host's environment.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type TestAzurite } from './support';

let azurite: TestAzurite;
const dirs: string[] = [];
const hosts: HostProcess[] = [];

async function hostWith(env: Record<string, string>): Promise<HostProcess> {
  const dir = prepareFixtureApp({ AzureWebJobsStorage: azurite.connectionString });
  dirs.push(dir);
  // Its own task hub: hosts sharing one would share its instances (multi-host.test.ts), so a switch
  // set on one host would act on only some of them.
  const hostJson = path.join(dir, 'host.json');
  const config = JSON.parse(readFileSync(hostJson, 'utf8'));
  config.extensions.durableTask.hubName = `FaultHub${dirs.length}`;
  writeFileSync(hostJson, JSON.stringify(config));
  const host = await spawnHost(dir, env);
  hosts.push(host);
  return host;
}

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await Promise.all(hosts.map((h) => h.kill('SIGTERM')));
  await azurite?.stop();
  for (const dir of dirs) removeDir(dir);
});

const start = (host: HostProcess, name: string, id: string, input: unknown) =>
  fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/${name}/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });

const runs = async (host: HostProcess, key: string) => (await (await fetch(`${host.url}/api/runs/${key}`)).json()) as string[];

interface Completed {
  EventType: string;
  ScheduledTime?: string;
  Timestamp: string;
}

describe('with no switch set', () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await hostWith({});
  }, 60_000);

  test('an activity runs once, writes succeed, and results arrive without added delay', async () => {
    expect((await start(host, 'CountedOnce', 'plain-1', 'plain-1')).status).toBe(202);
    const done = await waitForFinish(host.url, 'plain-1');
    expect(done.output).toBe(1);
    expect(await runs(host, 'plain-1')).toEqual(['run']);
    expect(host.output()).not.toContain('Fault switch');
  });
});

describe('DEVHOST_FAULT_ACTIVITY_TWICE=1', () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await hostWith({ DEVHOST_FAULT_ACTIVITY_TWICE: '1' });
  }, 60_000);

  test('runs every activity a second time; the first result completes the task, the second is dropped', async () => {
    expect(host.output()).toContain('Fault switch on: every activity runs twice');
    expect((await start(host, 'CountedOnce', 'twice-1', 'twice-1')).status).toBe(202);
    const done = await waitForFinish(host.url, 'twice-1');
    expect(done.output).toBe(1);
    await eventually(async () => ((await runs(host, 'twice-1')).length === 2 ? true : undefined), 10_000, 'the second run');
    const after = await waitForFinish(host.url, 'twice-1');
    expect(after.historyEvents!.filter((e) => e.EventType === 'TaskCompleted')).toHaveLength(1);
    expect(after.output).toBe(1);
  });
});

describe('DEVHOST_FAULT_DELIVERY_DELAY_MS=800', () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await hostWith({ DEVHOST_FAULT_DELIVERY_DELAY_MS: '800' });
  }, 60_000);

  test('an activity result reaches the orchestration at least the delay after it was scheduled', async () => {
    expect(host.output()).toContain('Fault switch on: messages are delivered 800 ms late');
    expect((await start(host, 'Hello', 'late-1', 'delay')).status).toBe(202);
    const done = await waitForFinish(host.url, 'late-1');
    expect(done.output).toBe('Hello delay');
    const completed = done.historyEvents!.find((e) => e.EventType === 'TaskCompleted') as unknown as Completed;
    // The episode that records the result runs once the result was delivered.
    expect(Date.parse(completed.Timestamp) - Date.parse(completed.ScheduledTime!)).toBeGreaterThanOrEqual(800);
  });
});

describe('DEVHOST_FAULT_FAIL_WRITES=3', () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await hostWith({ DEVHOST_FAULT_FAIL_WRITES: '3' });
  }, 60_000);

  test('the next three storage writes fail, the fourth and later succeed', async () => {
    expect(host.output()).toContain('Fault switch on: the next 3 storage writes fail');
    // Each start is one write (the instance row): three refused, then accepted.
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await start(host, 'Hello', 'writes-1', 'writes')).status);
    expect(statuses).toEqual([500, 500, 500, 202]);
    expect(host.output().match(/Fault switch: storage write \w+ fails \(\d of 3\)/g)).toHaveLength(3);
    const done = await waitForFinish(host.url, 'writes-1');
    expect(done.output).toBe('Hello writes');
  });
});

test('a switch with a value that is not a whole number stops start-up with its name', async () => {
  await expect(hostWith({ DEVHOST_FAULT_DELIVERY_DELAY_MS: 'soon' })).rejects.toThrow(/DEVHOST_FAULT_DELIVERY_DELAY_MS "soon" must be a whole number/);
});
