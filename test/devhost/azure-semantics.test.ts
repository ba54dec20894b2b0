/**
 * Where the local host keeps Azure's semantics rather than a more forgiving one (sources in
 * devhost/README.md): request URLs canonicalised as App Service's front end does, startNew over a
 * running instance by `overridableExistingInstanceStates`, and events around continueAsNew.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type Status, type TestAzurite } from './support';

let azurite: TestAzurite;
/** host.json as in the fixture: the extension's default, NonRunningStates. */
let strict: HostProcess;
/** host.json with `overridableExistingInstanceStates: AnyState`. */
let anyState: HostProcess;
const dirs: string[] = [];

function appWith(durableTask: Record<string, unknown>): string {
  const dir = prepareFixtureApp({ AzureWebJobsStorage: azurite.connectionString });
  const file = path.join(dir, 'host.json');
  const hostJson = JSON.parse(readFileSync(file, 'utf8'));
  Object.assign(hostJson.extensions.durableTask, durableTask);
  writeFileSync(file, JSON.stringify(hostJson));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  [strict, anyState] = await Promise.all([
    spawnHost(appWith({ hubName: 'StrictHub' }), {}),
    spawnHost(appWith({ hubName: 'AnyStateHub', overridableExistingInstanceStates: 'AnyState' }), {}),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([strict?.kill('SIGTERM'), anyState?.kill('SIGTERM')]);
  await azurite?.stop();
  for (const dir of dirs) removeDir(dir);
});

const api = (host: HostProcess) => `${host.url}/runtime/webhooks/durabletask`;

function post(url: string, body?: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
}

async function status(host: HostProcess, id: string): Promise<Status> {
  return (await (await fetch(`${api(host)}/instances/${id}?showHistory=true&showHistoryOutput=true`)).json()) as Status;
}

async function runLog(host: HostProcess, key: string): Promise<string[]> {
  return (await (await fetch(`${host.url}/api/runs/${key}`)).json()) as string[];
}

/** A GET with the target sent byte for byte (fetch would resolve dot segments itself). */
function rawGet(port: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target, headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: body ? JSON.parse(body) : null }));
      })
      .on('error', reject);
  });
}

describe('request URLs are canonicalised before routing, as App Service\'s front end does', () => {
  test.each([
    ['a dot segment', '/api/x/a/../b'],
    ['an encoded dot segment and a "." segment', '/api/x/./a/%2e%2E/b'],
    ['encoded slashes', '/api/x/a%2F..%2Fb'],
    ['backslashes', '/api/x/a\\..\\b'],
  ])('%s: routed to /api/x/b, with the target as sent in X-WAWS-Unencoded-URL', async (_name, target) => {
    const answer = await rawGet(strict.port, `${target}?q=1`);
    expect(answer).toEqual({ status: 200, json: { name: 'b', url: `${strict.url}/api/x/b?q=1`, unencoded: `${target}?q=1` } });
  });

  test('a client cannot choose X-WAWS-Unencoded-URL: the host overwrites it', async () => {
    const answer = await rawGet(strict.port, '/api/x/a/../b', { 'x-waws-unencoded-url': '/api/x/b' });
    expect(answer.json).toMatchObject({ name: 'b', unencoded: '/api/x/a/../b' });
  });

  test('a path climbing out of a route lands on the route it resolves to', async () => {
    const answer = await rawGet(strict.port, '/api/x/a/../../echo/5');
    expect(answer).toMatchObject({ status: 200, json: { id: '5' } });
  });
});

describe('startNew with the id of a running instance', () => {
  test('is refused under the default NonRunningStates, with the answer the extension gives', async () => {
    expect((await post(`${api(strict)}/orchestrators/Forever/busy-1`)).status).toBe(202);
    await eventually(async () => ((await status(strict, 'busy-1')).runtimeStatus === 'Running' ? true : undefined));
    const again = await post(`${api(strict)}/orchestrators/Forever/busy-1`);
    expect({ status: again.status, body: await again.json() }).toEqual({
      status: 500,
      body: {
        Message: 'Something went wrong while processing your request',
        ExceptionMessage: 'An Orchestration instance with the status Running already exists.',
        ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
      },
    });
    // The durable client (as the broker uses it) rejects, so the app's starter fails.
    expect((await post(`${strict.url}/api/start/Forever/busy-1`)).status).toBe(500);
    expect((await status(strict, 'busy-1')).runtimeStatus).toBe('Running');
  });

  test('replaces it under AnyState: the old execution\'s activity finishes, its result never reaches the new one', async () => {
    const key = 'replace-1';
    expect((await post(`${api(anyState)}/orchestrators/Tagged/${key}`, { key, tag: 'old', ms: 2000 })).status).toBe(202);
    await eventually(async () => ((await runLog(anyState, key)).includes('start old') ? true : undefined));
    // The new execution's activity is still running when the old one's result comes back.
    expect((await post(`${api(anyState)}/orchestrators/Tagged/${key}`, { key, tag: 'new', ms: 3000 })).status).toBe(202);
    const done = await waitForFinish(anyState.url, key);
    expect(await runLog(anyState, key)).toEqual(['start old', 'start new', 'done old', 'done new']);
    expect(done.runtimeStatus).toBe('Completed');
    expect(done.output).toBe('new');
    expect(done.input).toEqual({ key, tag: 'new', ms: 3000 });
    const types = done.historyEvents!.map((e) => e.EventType);
    expect(types).toEqual(['ExecutionStarted', 'TaskCompleted', 'ExecutionCompleted']);
  });

  test('replaces it under AnyState through the durable client too', async () => {
    expect((await post(`${anyState.url}/api/start/Forever/forever-1`)).status).toBe(202);
    await eventually(async () => ((await status(anyState, 'forever-1')).runtimeStatus === 'Running' ? true : undefined));
    expect((await post(`${anyState.url}/api/start/Hello/forever-1`, 'again')).status).toBe(202);
    const done = await waitForFinish(anyState.url, 'forever-1');
    expect([done.runtimeStatus, done.output]).toEqual(['Completed', 'Hello again']);
  });
});

describe('events around continueAsNew, as the extension treats them for JavaScript apps', () => {
  test('an event delivered to the finishing generation but not consumed is dropped; one still queued reaches the next', async () => {
    const id = 'generations-1';
    const W = api(strict);
    expect((await post(`${W}/orchestrators/Generations/${id}`, { gen: 0 })).status).toBe(202);
    expect((await post(`${W}/instances/${id}/raiseEvent/Early`, 'e')).status).toBe(202);
    // Delivered: in generation 0's history, buffered by the SDK, not awaited.
    await eventually(async () => ((await status(strict, id)).historyEvents?.some((e) => e.EventType === 'EventRaised' && e.Name === 'Early') ? true : undefined));
    // "Go" makes generation 0 continue as new; "Late" is queued behind it.
    expect((await post(`${W}/instances/${id}/raiseEvent/Go`, 'go')).status).toBe(202);
    expect((await post(`${W}/instances/${id}/raiseEvent/Late`, 'l')).status).toBe(202);
    const done = await waitForFinish(strict.url, id);
    expect(done.output).toEqual({ gen: 1, first: 'Late', value: 'l' });
    const raised = done.historyEvents!.filter((e) => e.EventType === 'EventRaised').map((e) => e.Name);
    expect(raised).toEqual(['Late']);
  });
});
