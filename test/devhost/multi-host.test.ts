/**
 * Two devhost processes on one Azurite and task hub share the work: the partitions are split between
 * them, starts and status requests go to either, and when one is SIGKILLed mid-way the other takes its
 * partition leases over once they expire and finishes every instance, each completed exactly once.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { partitionOf } from '../../devhost/src/durable/partitions';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type Status, type TestAzurite } from './support';

const INSTANCES = 200;
const PARTITIONS = 4;

let azurite: TestAzurite;
let appDir: string;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp();
  // Leases and queue polling scaled from the backend's 30 s / 10 s / 30 s so a hand-over takes seconds.
  const hostJsonPath = path.join(appDir, 'host.json');
  const hostJson = JSON.parse(readFileSync(hostJsonPath, 'utf8'));
  hostJson.extensions.durableTask.storageProvider = {
    partitionCount: PARTITIONS,
    leaseInterval: '00:00:04',
    leaseRenewInterval: '00:00:00.500',
    maxQueuePollingInterval: '00:00:01',
  };
  // Lets a start through one host replace an instance the other host runs.
  hostJson.extensions.durableTask.overridableExistingInstanceStates = 'AnyState';
  writeFileSync(hostJsonPath, JSON.stringify(hostJson));
}, 60_000);

afterAll(async () => {
  for (const h of hosts) await h.kill('SIGKILL');
  await azurite?.stop();
  removeDir(appDir);
});

/** Partitions a host holds now, by its own log. */
function heldPartitions(host: HostProcess, worker: string): Set<number> {
  const held = new Set<number>();
  for (const m of host.output().matchAll(new RegExp(`Worker '${worker}' (acquired|released) partition p(\\d\\d)`, 'g'))) {
    if (m[1] === 'acquired') held.add(Number(m[2]));
    else held.delete(Number(m[2]));
  }
  return held;
}

const held = (host: HostProcess, worker: string) => heldPartitions(host, worker).size;

let alpha: HostProcess;
let beta: HostProcess;

/** Two hosts on the hub, its partitions split between them. */
async function startBoth(): Promise<void> {
  const env = { AzureWebJobsStorage: azurite.connectionString };
  alpha = await spawnHost(appDir, { ...env, DEVHOST_WORKER_ID: 'alpha' });
  hosts.push(alpha);
  beta = await spawnHost(appDir, { ...env, DEVHOST_WORKER_ID: 'beta' });
  hosts.push(beta);
  await eventually(async () => (held(alpha, 'alpha') === 2 && held(beta, 'beta') === 2 ? true : undefined), 30_000, 'the partitions to be split 2 / 2');
  expect(beta.output()).toMatch(/Worker 'beta' asked 'alpha' for partition p0\d/);
}

/** `count` instance ids with `prefix` whose partition `host` holds. */
function idsOwnedBy(host: HostProcess, worker: string, prefix: string, count: number): string[] {
  const mine = heldPartitions(host, worker);
  const ids: string[] = [];
  for (let i = 0; ids.length < count; i++) if (mine.has(partitionOf(`${prefix}${i}`, PARTITIONS))) ids.push(`${prefix}${i}`);
  return ids;
}

async function post(url: string, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
}

test('starts, events, terminations and child outcomes sent through one host reach the instance the other host runs', async () => {
  await startBoth();
  const api = (h: HostProcess) => `${h.url}/runtime/webhooks/durabletask`;
  for (const [owner, ownerId, other] of [
    [alpha, 'alpha', beta],
    [beta, 'beta', alpha],
  ] as const) {
    const [approval, forever, parent] = idsOwnedBy(owner, ownerId, `x-${ownerId}-`, 3);
    // Started, raised and terminated through the host that does not run them.
    expect((await post(`${api(other)}/orchestrators/Approval/${approval}`, { timeoutMs: 600_000 })).status).toBe(202);
    expect((await post(`${api(other)}/orchestrators/Forever/${forever}`)).status).toBe(202);
    expect((await post(`${api(other)}/orchestrators/Parent/${parent}`)).status).toBe(202);
    await eventually(async () => {
      const s = (await (await fetch(`${api(other)}/instances/${approval}`)).json()) as Status;
      return s.customStatus === 'waiting' || undefined;
    });
    expect((await post(`${api(other)}/instances/${approval}/raiseEvent/Approve`, `via ${other === alpha ? 'alpha' : 'beta'}`)).status).toBe(202);
    expect((await post(`${api(other)}/instances/${forever}/terminate?reason=stop`)).status).toBe(202);

    const approved = await waitForFinish(other.url, approval);
    expect(approved.output).toEqual({ outcome: 'approved', by: `via ${other === alpha ? 'alpha' : 'beta'}` });
    expect((await waitForFinish(other.url, forever)).runtimeStatus).toBe('Terminated');
    // The children land in whichever partitions their ids hash to; their outcomes come back either way.
    const family = await waitForFinish(other.url, parent);
    expect(family.runtimeStatus).toBe('Completed');
    expect((family.output as { child: string }).child).toBe('Hello child');
  }
}, 120_000);

async function completedCount(baseUrl: string): Promise<number> {
  let n = 0;
  let token: string | null = null;
  do {
    const res: Response = await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances?instanceIdPrefix=relay-&runtimeStatus=Completed&top=500&showInput=false`, {
      headers: token ? { 'x-ms-continuation-token': token } : {},
    });
    n += ((await res.json()) as unknown[]).length;
    token = res.headers.get('x-ms-continuation-token');
  } while (token);
  return n;
}

test('a start through one host replaces the instance the other host runs; the old execution writes nothing more', async () => {
  if (!alpha || !beta) await startBoth();
  const api = (h: HostProcess) => `${h.url}/runtime/webhooks/durabletask`;
  const [id] = idsOwnedBy(alpha, 'alpha', 'replaced-', 1);
  expect((await post(`${api(alpha)}/orchestrators/Approval/${id}`, { timeoutMs: 600_000 })).status).toBe(202);
  const waiting = async () => {
    const s = (await (await fetch(`${api(beta)}/instances/${id}?showInput=true`)).json()) as Status;
    return s.customStatus === 'waiting' ? s : undefined;
  };
  await eventually(waiting);
  expect((await post(`${api(beta)}/orchestrators/Approval/${id}`, { timeoutMs: 500_000 })).status).toBe(202);
  // The new execution runs on the owner: it waits again, with the new input.
  await eventually(async () => {
    const s = await waiting();
    return (s?.input as { timeoutMs?: number } | undefined)?.timeoutMs === 500_000 ? true : undefined;
  });
  expect((await post(`${api(beta)}/instances/${id}/raiseEvent/Approve`, 'second')).status).toBe(202);
  const done = await waitForFinish(beta.url, id);
  expect(done.output).toEqual({ outcome: 'approved', by: 'second' });
  expect(done.historyEvents!.filter((e) => e.EventType === 'ExecutionStarted')).toHaveLength(1);
  expect(done.historyEvents!.filter((e) => e.EventType === 'ExecutionCompleted')).toHaveLength(1);
}, 60_000);

test('200 orchestrations across two hosts all complete exactly once after one host is SIGKILLed mid-way', async () => {
  if (!alpha || !beta) await startBoth();
  const logFrom = alpha.output().length;

  // Starts go to both hosts; half of each host's starts are for the other host's partitions.
  const ids = Array.from({ length: INSTANCES }, (_, i) => `relay-${i}`);
  for (let i = 0; i < INSTANCES; i += 20) {
    await Promise.all(
      ids.slice(i, i + 20).map(async (id, j) => {
        const via = (i + j) % 2 === 0 ? alpha : beta;
        const res = await fetch(`${via.url}/runtime/webhooks/durabletask/orchestrators/Relay/${id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(i + j),
        });
        expect(res.status).toBe(202);
      }),
    );
  }
  await eventually(async () => ((await completedCount(beta.url)) >= INSTANCES / 4 ? true : undefined), 120_000, 'a quarter of the instances to complete');
  const killed = await beta.kill('SIGKILL');
  expect(killed.signal).toBe('SIGKILL');
  const doneAtKill = await completedCount(alpha.url);
  expect(doneAtKill).toBeLessThan(INSTANCES);

  await eventually(async () => ((await completedCount(alpha.url)) === INSTANCES ? true : undefined), 180_000, 'every instance to complete');
  expect(alpha.output()).toMatch(/Worker 'alpha' acquired partition p0\d \(taken over from 'beta' whose lease expired\)/);
  expect(held(alpha, 'alpha')).toBe(PARTITIONS);

  let movedMidway = 0;
  for (const [i, id] of ids.entries()) {
    const res = await fetch(`${alpha.url}/runtime/webhooks/durabletask/instances/${id}?showHistory=true&showHistoryOutput=true`);
    expect(res.status).toBe(200);
    const status = (await res.json()) as Status;
    expect(status.runtimeStatus).toBe('Completed');
    const output = status.output as { n: number; result: number; workers: string[] };
    // Both activity results reached the orchestration: 4n is only reached through both doublings.
    expect(output).toMatchObject({ n: i, result: 4 * i });
    for (const w of output.workers) expect(['alpha', 'beta']).toContain(w);
    if (output.workers[0] === 'beta' && output.workers[1] === 'alpha') movedMidway++;
    const events = status.historyEvents!.map((e) => e.EventType);
    expect(events.filter((e) => e === 'ExecutionCompleted')).toHaveLength(1);
    expect(events.filter((e) => e === 'TaskCompleted')).toHaveLength(2);
    expect(events.filter((e) => e === 'TimerFired')).toHaveLength(1);
  }
  // Some instances were half done on the killed host and finished on the survivor.
  expect(movedMidway).toBeGreaterThan(0);
  // The survivor's conditional writes never found a row changed under it (its ETags stayed right).
  expect(alpha.output().slice(logFrom)).not.toContain('was written by another host meanwhile');
}, 420_000);

test('a host frozen past its lease (SIGSTOP) stops running its partitions when it wakes, and writes nothing over the new owner', async () => {
  // After the previous test alpha holds every partition; a new host takes half of them.
  if (!alpha) await startBoth();
  const gamma = await spawnHost(appDir, { AzureWebJobsStorage: azurite.connectionString, DEVHOST_WORKER_ID: 'gamma' });
  hosts.push(gamma);
  await eventually(async () => (held(gamma, 'gamma') === 2 ? true : undefined), 30_000, 'gamma to get its share');
  const ids = idsOwnedBy(gamma, 'gamma', 'frozen-', 20);
  for (const [i, id] of ids.entries()) expect((await post(`${gamma.url}/runtime/webhooks/durabletask/orchestrators/Relay/${id}`, i)).status).toBe(202);

  gamma.child.kill('SIGSTOP');
  try {
    await eventually(
      async () => ((alpha.output().match(/Worker 'alpha' acquired partition p0\d \(taken over from 'gamma' whose lease expired\)/g) ?? []).length === 2 ? true : undefined),
      30_000,
      "alpha to take gamma's partitions over",
    );
    for (const id of ids) await waitForFinish(alpha.url, id, 60_000);
  } finally {
    gamma.child.kill('SIGCONT');
  }
  await eventually(
    async () => ((gamma.output().match(/Worker 'gamma' released partition p0\d: (its lease ran out|'alpha' took its lease)/g) ?? []).length === 2 ? true : undefined),
    30_000,
    'gamma to notice it lost its partitions',
  );
  // Whatever gamma had in flight when it froze was not written over alpha's results.
  for (const [i, id] of ids.entries()) {
    const status = await waitForFinish(alpha.url, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect((status.output as { result: number }).result).toBe(4 * i);
    expect(status.historyEvents!.filter((e) => e.EventType === 'ExecutionCompleted')).toHaveLength(1);
  }
}, 180_000);
