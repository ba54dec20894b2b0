/**
 * The app runs in worker processes apart from the host, as on Azure: `FUNCTIONS_WORKER_PROCESS_COUNT`
 * of them (default 1), HTTP requests spread round-robin, an orchestration instance's episodes all on
 * one worker, a worker that dies restarted (what it ran failed, durable work redelivered), and none
 * outliving a SIGKILLed host.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fnv1a } from '../../devhost/src/durable/partitions';
import { BATCH_MAX_BYTES, BATCH_MAX_ITEMS } from '../../devhost/src/worker/message-batch';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type TestAzurite } from './support';

let azurite: TestAzurite;
let appDir: string;
let streamAppDir: string;
let scratch: string;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp();
  streamAppDir = prepareFixtureApp({}, 'fixture-stream-app');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'devhost-workers-'));
}, 60_000);

afterAll(async () => {
  for (const h of hosts) await h.kill('SIGKILL');
  await azurite?.stop();
  removeDir(appDir);
  removeDir(streamAppDir);
  removeDir(scratch);
});

async function start(env: Record<string, string> = {}, dir = appDir): Promise<HostProcess> {
  const host = await spawnHost(dir, { AzureWebJobsStorage: azurite.connectionString, ...env });
  hosts.push(host);
  return host;
}

async function workerPid(host: HostProcess): Promise<number> {
  const res = await fetch(`${host.url}/api/worker/pid`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { pid: number }).pid;
}

/** Whether a process runs (a zombie waiting to be reaped counts as gone). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const status = `/proc/${pid}/status`;
  return !(existsSync(status) && /^State:\s+Z/m.test(readFileSync(status, 'utf8')));
}

async function post(url: string, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
}

test('by default one worker process, not the host, runs every invocation', async () => {
  const host = await start();
  const pids = [];
  for (let i = 0; i < 4; i++) pids.push(await workerPid(host));
  expect(new Set(pids).size).toBe(1);
  expect(pids[0]).not.toBe(host.child.pid);
  expect(host.output()).toContain('Worker processes: 1');
  await host.kill('SIGTERM');
}, 60_000);

test('with FUNCTIONS_WORKER_PROCESS_COUNT=2 requests alternate between two workers and each instance replays on one of them', async () => {
  const host = await start({ FUNCTIONS_WORKER_PROCESS_COUNT: '2' });
  const pids = [];
  for (let i = 0; i < 6; i++) pids.push(await workerPid(host));
  const workers = [...new Set(pids)];
  expect(workers).toHaveLength(2);
  expect(workers).not.toContain(host.child.pid);
  for (let i = 2; i < pids.length; i++) expect(pids[i]).toBe(pids[i - 2]);

  // Ids whose hashes fall on both workers, so pinning cannot pass by landing every instance on one.
  const ids = ['pin-a', 'pin-b', 'pin-c', 'pin-d', 'pin-e', 'pin-f'];
  expect(new Set(ids.map((id) => fnv1a(id) % 2)).size).toBe(2);
  const W = `${host.url}/runtime/webhooks/durabletask`;
  const statusOf = async (id: string) => (await (await fetch(`${W}/instances/${id}`)).json()) as { customStatus: { step: number; pid: number } | null };
  const seen = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (const id of ids) expect((await post(`${W}/orchestrators/WorkerPids/${id}`)).status).toBe(202);
  for (let step = 0; step < 4; step++) {
    // One request per round moves the round-robin turn on by an odd count (6 episodes + 1), so an
    // unpinned instance's episodes would alternate between the workers.
    await workerPid(host);
    for (const id of ids) {
      const status = await eventually(async () => {
        const s = await statusOf(id);
        return s.customStatus?.step === step ? s.customStatus : undefined;
      });
      seen.get(id)!.push(status.pid);
      expect((await post(`${W}/instances/${id}/raiseEvent/Next`, step === 3 ? 'stop' : 'go')).status).toBe(202);
    }
  }
  for (const id of ids) expect((await waitForFinish(host.url, id)).output).toBe(3);
  const byWorker = new Map<number, number>();
  for (const id of ids) {
    const episodePids = seen.get(id)!;
    expect(new Set(episodePids).size).toBe(1);
    expect(workers).toContain(episodePids[0]);
    byWorker.set(fnv1a(id) % 2, episodePids[0]);
  }
  expect(new Set(byWorker.values()).size).toBe(2);
  await host.kill('SIGTERM');
}, 90_000);

test('in stream mode each request is forwarded to the worker that runs its invocation', async () => {
  const host = await start({ FUNCTIONS_WORKER_PROCESS_COUNT: '2' }, streamAppDir);
  const pids = await Promise.all(Array.from({ length: 8 }, () => workerPid(host)));
  expect(new Set(pids).size).toBe(2);
  const big = Buffer.alloc(256 * 1024, 7);
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${host.url}/api/echo-stream`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: big });
    expect(res.status).toBe(201);
    expect(Buffer.from(await res.arrayBuffer()).equals(big)).toBe(true);
  }
  await host.kill('SIGTERM');
}, 60_000);

test('a worker that dies fails what it was running, is started again, and its activity is redelivered', async () => {
  const host = await start();
  const first = await workerPid(host);
  const slow = fetch(`${host.url}/api/worker/sleep?ms=20000`);
  await eventually(async () => (host.output().includes(`sleeping in worker ${first}`) ? true : undefined));
  process.kill(first, 'SIGKILL');
  expect((await slow).status).toBe(500);
  await eventually(async () => (host.output().includes(`(pid ${first}) exited unexpectedly (signal SIGKILL); starting it again`) ? true : undefined));
  const second = await workerPid(host);
  expect(second).not.toBe(first);

  const W = `${host.url}/runtime/webhooks/durabletask`;
  const marker = path.join(scratch, 'slow-runs.txt');
  expect((await post(`${W}/orchestrators/SlowWork/worker-dies`, { file: marker, ms: 1500 })).status).toBe(202);
  await eventually(async () => (existsSync(marker) ? true : undefined), 10_000, 'the slow activity to start');
  process.kill(second, 'SIGKILL');
  const done = await waitForFinish(host.url, 'worker-dies', 30_000);
  expect(done.runtimeStatus).toBe('Completed');
  expect(done.output).toBe('slow done');
  expect(done.historyEvents!.filter((e) => e.EventType === 'TaskFailed')).toHaveLength(0);
  expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(2);
  expect(await workerPid(host)).not.toBe(second);
  await host.kill('SIGTERM');
}, 90_000);

test('what a worker queued for the host before it exited arrives whole and in order, across batches', async () => {
  const host = await start();
  const pid = await workerPid(host);
  // Enough lines for several batches and a partial last one, which only the exit flush can carry.
  const lines = BATCH_MAX_ITEMS * 3 + 17;
  expect((await fetch(`${host.url}/api/worker/log-then-exit?lines=${lines}&run=r1`)).status).toBe(500);
  await eventually(async () => (host.output().includes(`(pid ${pid}) exited unexpectedly (code 3); starting it again`) ? true : undefined));
  const logged = () => [...host.output().matchAll(/\] \[workerLogThenExit\] line (\d+) of r1$/gm)].map((m) => Number(m[1]));
  await eventually(async () => (logged().length >= lines ? true : undefined), 10_000, 'every line to be written');
  expect(logged()).toEqual(Array.from({ length: lines }, (_, i) => i));
  expect(await workerPid(host)).not.toBe(pid);
  await host.kill('SIGTERM');
}, 60_000);

test('long log lines go in batches bounded by size, every one whole and in order', async () => {
  const host = await start();
  const lines = 9;
  const pad = Math.ceil(BATCH_MAX_BYTES / 4);
  const res = await fetch(`${host.url}/api/worker/log-then-exit?lines=${lines}&pad=${pad}&run=r2&exit=0`);
  expect(await res.text()).toBe('logged');
  const logged = () => [...host.output().matchAll(/\] \[workerLogThenExit\] line (\d+) of r2 (x+)$/gm)].map((m) => [Number(m[1]), m[2].length]);
  await eventually(async () => (logged().length >= lines ? true : undefined), 10_000, 'every line to be written');
  expect(logged()).toEqual(Array.from({ length: lines }, (_, i) => [i, pad]));
  await host.kill('SIGTERM');
}, 60_000);

test('invocations sent together each get their own answer, and those a dying worker held fail rather than hang', async () => {
  const host = await start();
  const echo = (v: number) => fetch(`${host.url}/api/worker/echo?v=${v}`).then(async (r) => ({ status: r.status, body: r.status === 200 ? ((await r.json()) as { echo: string }) : undefined }));
  const count = BATCH_MAX_ITEMS * 2 + 5;
  const answers = await Promise.all(Array.from({ length: count }, (_, v) => echo(v)));
  expect(answers.map((a) => a.body?.echo)).toEqual(Array.from({ length: count }, (_, v) => String(v)));

  const pid = await workerPid(host);
  const before = Array.from({ length: count }, (_, v) => echo(v));
  const dying = fetch(`${host.url}/api/worker/log-then-exit?lines=1&run=r3`);
  const after = Array.from({ length: count }, (_, v) => echo(count + v));
  expect((await dying).status).toBe(500);
  for (const [i, a] of (await Promise.all([...before, ...after])).entries()) {
    // Each answered by a worker with its own value, or failed by the exit: never another's answer.
    if (a.status === 200) expect(a.body!.echo).toBe(String(i));
    else expect(a.status).toBe(500);
  }
  expect(await workerPid(host)).not.toBe(pid);
  await host.kill('SIGTERM');
}, 60_000);

test('an instance continuing as new shows as Running while its next generation replays in the worker, never ContinuedAsNew', async () => {
  const host = await start();
  const W = `${host.url}/runtime/webhooks/durabletask`;
  expect((await post(`${W}/orchestrators/Spin/spin-1`, 0)).status).toBe(202);
  const seen = new Set<string>();
  for (;;) {
    const s = (await (await fetch(`${W}/instances/spin-1`)).json()) as { runtimeStatus: string; output: unknown };
    const listed = (await (await fetch(`${W}/instances?instanceIdPrefix=spin-1`)).json()) as { runtimeStatus: string }[];
    seen.add(s.runtimeStatus);
    for (const l of listed) seen.add(l.runtimeStatus);
    if (s.runtimeStatus === 'Completed') {
      expect(s.output).toBe(150);
      break;
    }
  }
  expect([...seen].filter((x) => x !== 'Pending' && x !== 'Running' && x !== 'Completed')).toEqual([]);
  await host.kill('SIGTERM');
}, 60_000);

test('no worker outlives a SIGKILLed host', async () => {
  const host = await start({ FUNCTIONS_WORKER_PROCESS_COUNT: '2' });
  const workers = [...new Set([await workerPid(host), await workerPid(host)])];
  expect(workers).toHaveLength(2);
  expect(workers.every(running)).toBe(true);
  await host.kill('SIGKILL');
  await eventually(async () => (workers.some(running) ? undefined : true), 10_000, 'the workers to exit');
}, 60_000);

test.each(['0', '11', 'two', '1.5'])('FUNCTIONS_WORKER_PROCESS_COUNT=%s is refused at start-up', async (count) => {
  await expect(start({ FUNCTIONS_WORKER_PROCESS_COUNT: count })).rejects.toThrow(
    new RegExp(`FUNCTIONS_WORKER_PROCESS_COUNT "${count.replace('.', '\\.')}" must be a whole number from 1 to 10`),
  );
}, 30_000);
