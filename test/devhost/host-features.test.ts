/**
 * The fixture app, run by the devhost bin against a private Azurite, exercises every feature of the
 * host: HTTP routing and conversions, hooks, settings, and the durable engine with its HTTP API.
 */
import { ensureBuilt, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, eventually, type HostProcess, type Status, type TestAzurite } from './support';

let azurite: TestAzurite;
let host: HostProcess;
let appDir: string;
let W: string;

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  // Storage comes from local.settings.json; SETTING_B is overridden by the environment.
  appDir = prepareFixtureApp({ AzureWebJobsStorage: azurite.connectionString, SETTING_A: 'from-file', SETTING_B: 'from-file' });
  host = await spawnHost(appDir, { SETTING_B: 'from-env' });
  W = `${host.url}/runtime/webhooks/durabletask`;
}, 60_000);

afterAll(async () => {
  await host?.kill('SIGTERM');
  await azurite?.stop();
  if (appDir) removeDir(appDir);
});

async function start(name: string, input?: unknown, instanceId?: string): Promise<string> {
  const res = await fetch(`${W}/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? '' : JSON.stringify(input),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function raise(id: string, name: string, data: unknown): Promise<number> {
  const res = await fetch(`${W}/instances/${id}/raiseEvent/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(data),
  });
  return res.status;
}

describe('HTTP triggers', () => {
  test('route templates give params, query, headers and cookies to the function', async () => {
    const res = await fetch(`${host.url}/api/echo/42/ada?q=1&q=2`, { headers: { 'x-test': 'yes', cookie: 'a=1; b=2' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: '42', name: 'ada', method: 'GET', q: ['1', '2'], header: 'yes', cookie: 'a=1; b=2', text: null });
  });

  test('an optional parameter may be left out, and a literal route wins over a parameter', async () => {
    expect(((await (await fetch(`${host.url}/api/echo/7`)).json()) as { name: unknown }).name).toBeNull();
    expect(await (await fetch(`${host.url}/api/echo/special`)).text()).toBe('literal wins');
  });

  test('a route constraint that does not match, an unknown route, or a wrong method answer 404', async () => {
    expect((await fetch(`${host.url}/api/echo/notanint`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/nowhere`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/binary`)).status).toBe(404);
  });

  test('a catch-all parameter takes the rest of the path', async () => {
    expect(await (await fetch(`${host.url}/api/files/a/b/c.txt`)).json()).toEqual({ path: 'a/b/c.txt' });
  });

  test('binary request and response bodies pass through unchanged', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 0, 128]);
    const res = await fetch(`${host.url}/api/binary`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-length')).toBe('7');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(bytes).reverse());
  });

  test('response cookies become Set-Cookie headers', async () => {
    const res = await fetch(`${host.url}/api/cookies`);
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^session=abc; path=\/; secure; httponly/);
    expect(cookies[1]).toMatch(/^pref=dark; max-age=60; samesite=Lax/);
  });

  test('a function that throws answers 500 and the host logs its message with the invocation id', async () => {
    const res = await fetch(`${host.url}/api/throws`);
    expect(res.status).toBe(500);
    await eventually(async () => (/Executed 'throws' \(Failed, Id=[0-9a-f-]{36}.*kaboom from the fixture/.test(host.output()) ? true : undefined));
  });

  test('a function that returns nothing answers 204', async () => {
    expect((await fetch(`${host.url}/api/nothing`)).status).toBe(204);
  });

  test('appStart and pre/post invocation hooks run, and a hook can wrap the handler', async () => {
    await fetch(`${host.url}/api/hooked`);
    const body = (await (await fetch(`${host.url}/api/hooked`)).json()) as { appStarted: boolean; extra: string; hookLog: string[] };
    expect(body.appStarted).toBe(true);
    expect(body.extra).toBe('wrapped-by-hook');
    expect(body.hookLog.slice(0, 3)).toEqual(['pre', 'post', 'pre']);
  });

  test('settings come from local.settings.json and the environment wins', async () => {
    expect(await (await fetch(`${host.url}/api/env/SETTING_A`)).json()).toEqual({ value: 'from-file' });
    expect(await (await fetch(`${host.url}/api/env/SETTING_B`)).json()).toEqual({ value: 'from-env' });
    expect(await (await fetch(`${host.url}/api/env/WEBSITE_HOSTNAME`)).json()).toEqual({ value: `127.0.0.1:${host.port}` });
  });
});

describe('orchestrations', () => {
  test('an HTTP starter using the durable client answers 202 with management URLs pointing at the host', async () => {
    const res = await fetch(`${host.url}/api/start/Hello`, { method: 'POST', body: '"Ada"' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; statusQueryGetUri: string };
    expect(res.headers.get('location')).toBe(body.statusQueryGetUri);
    expect(body.statusQueryGetUri.startsWith(`http://127.0.0.1:${host.port}/runtime/webhooks/durabletask/instances/${body.id}`)).toBe(true);
    const status = await waitForFinish(host.url, body.id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('Hello Ada');
  });

  test('status answers 202 with Location while running and 200 with history once finished', async () => {
    const id = await start('Forever');
    const running = await fetch(`${W}/instances/${id}`);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toContain(`/instances/${id}`);
    const done = await waitForFinish(host.url, await start('Chain', 1));
    expect(done.output).toBe(8);
    expect(done.historyEvents!.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
    expect(done.historyEvents![1]).toMatchObject({ FunctionName: 'Double', Result: 2 });
  });

  test('Task.all fans out and collects every result', async () => {
    expect((await waitForFinish(host.url, await start('FanOut'))).output).toBe(20);
  });

  test('an activity with retry options is retried until it succeeds', async () => {
    expect((await waitForFinish(host.url, await start('Retry', 'retry-key'))).output).toEqual({ attempts: 3 });
  });

  test('exhausted retries reach the orchestrator as a TaskFailedError with failure details', async () => {
    const status = await waitForFinish(host.url, await start('RetryExhausted'));
    expect(status.output).toEqual({ message: 'FixtureError: always fails', name: 'TaskFailedError', errorType: 'FixtureError' });
    expect(status.customStatus).toEqual({ stage: 'trying' });
  });

  test('an uncaught failure fails the instance and keeps its custom status', async () => {
    const status = await waitForFinish(host.url, await start('Fails'));
    expect(status.runtimeStatus).toBe('Failed');
    expect(status.output).toBe("Orchestrator function 'Fails' failed: FixtureError: always fails");
    expect(status.customStatus).toBe('about to fail');
  });

  test('short timers and a long timer split into segments complete', async () => {
    const status = await waitForFinish(host.url, await start('Timers'));
    expect(status.output).toBe(true);
    // 200 ms timer, then a 2.2 s timer in 400 ms segments (maximumShortTimerDuration 1 s).
    const timers = status.historyEvents!.filter((e) => e.EventType === 'TimerCreated');
    expect(timers.length).toBeGreaterThanOrEqual(5);
  });

  test('an event raised before the orchestration waits for it is buffered, one raised later is delivered', async () => {
    const id = await start('TwoEvents');
    expect(await raise(id, 'Second', 'late-first')).toBe(202);
    expect(await raise(id, 'First', 'one')).toBe(202);
    const status = await waitForFinish(host.url, id);
    expect(status.output).toEqual(['one', 'late-first']);
  });

  test('Task.any: the event wins over the timer, which is cancelled', async () => {
    const id = await start('Approval', { timeoutMs: 60_000 });
    await eventually(async () => ((await (await fetch(`${W}/instances/${id}`)).json()) as Status).customStatus === 'waiting' || undefined);
    expect(await raise(id, 'Approve', { by: 'boss' })).toBe(202);
    const status = await waitForFinish(host.url, id);
    expect(status.output).toEqual({ outcome: 'approved', by: { by: 'boss' } });
    expect(status.customStatus).toBe('approved');
  });

  test('Task.any: the timer wins when no event comes', async () => {
    const status = await waitForFinish(host.url, await start('Approval', { timeoutMs: 300 }));
    expect(status.output).toEqual({ outcome: 'timeout' });
  });

  test('a sub-orchestration returns its output, and a failing one throws in the parent', async () => {
    const status = await waitForFinish(host.url, await start('Parent', null, 'parent-1'));
    expect(status.output).toEqual({ child: 'Hello child', failure: 'FixtureError: always fails' });
    expect((await waitForFinish(host.url, 'parent-1-child')).output).toBe('Hello child');
  });

  test('continueAsNew carries events that were not yet delivered into the next execution', async () => {
    const id = await start('Counter');
    for (const v of ['a', 'b', 'c']) expect(await raise(id, 'Add', v)).toBe(202);
    const status = await waitForFinish(host.url, id);
    expect(status.output).toEqual({ n: 3, seen: ['a', 'b', 'c'] });
    expect(status.customStatus).toEqual({ n: 3 });
  });

  test('raise event: 404 unknown instance, 410 finished, 400 body not JSON, 202 while Pending or Running', async () => {
    expect(await raise('no-such-instance', 'X', 1)).toBe(404);
    const done = await start('Hello', 'x');
    await waitForFinish(host.url, done);
    expect(await raise(done, 'X', 1)).toBe(410);
    const id = await start('Forever');
    const bad = await fetch(`${W}/instances/${id}/raiseEvent/X`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(bad.status).toBe(400);
    expect(await raise(id, 'Never', 'ok')).toBe(202);
    expect((await waitForFinish(host.url, id)).output).toBe('ok');
  });

  test('suspend holds events until resume; terminate stops an instance', async () => {
    const id = await start('Forever');
    expect((await fetch(`${W}/instances/${id}/suspend?reason=pause`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await (await fetch(`${W}/instances/${id}`)).json()) as Status).runtimeStatus === 'Suspended' || undefined);
    expect(await raise(id, 'Never', 'held')).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(((await (await fetch(`${W}/instances/${id}`)).json()) as Status).runtimeStatus).toBe('Suspended');
    expect((await fetch(`${W}/instances/${id}/resume?reason=go`, { method: 'POST' })).status).toBe(202);
    expect((await waitForFinish(host.url, id)).output).toBe('held');

    const victim = await start('Forever');
    expect((await fetch(`${W}/instances/${victim}/terminate?reason=stop`, { method: 'POST' })).status).toBe(202);
    const status = await waitForFinish(host.url, victim);
    expect(status.runtimeStatus).toBe('Terminated');
    expect(status.output).toBe('stop');
    expect((await fetch(`${W}/instances/${victim}/terminate`, { method: 'POST' })).status).toBe(410);
    expect((await fetch(`${W}/instances/nobody/terminate`, { method: 'POST' })).status).toBe(404);
  });

  test('purge deletes a finished instance: 200 with instancesDeleted, then 404', async () => {
    const id = await start('Hello', 'gone');
    await waitForFinish(host.url, id);
    const res = await fetch(`${W}/instances/${id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ instancesDeleted: 1 });
    expect((await fetch(`${W}/instances/${id}`)).status).toBe(404);
    expect((await fetch(`${W}/instances/${id}`, { method: 'DELETE' })).status).toBe(404);
  });

  test('the list filters by status, creation time and prefix, and pages with x-ms-continuation-token', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 5; i++) await waitForFinish(host.url, await start('Hello', `p${i}`, `listed-${i}`));
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res: Response = await fetch(`${W}/instances?instanceIdPrefix=listed-&runtimeStatus=Completed,Failed&createdTimeFrom=${from}&top=2`, {
        headers: token ? { 'x-ms-continuation-token': token } : {},
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { instanceId: string; runtimeStatus: string }[];
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page.map((s) => s.instanceId));
      token = res.headers.get('x-ms-continuation-token');
      pages++;
    } while (token);
    expect(seen).toEqual(['listed-0', 'listed-1', 'listed-2', 'listed-3', 'listed-4']);
    expect(pages).toBe(3);
    const future = await (await fetch(`${W}/instances?instanceIdPrefix=listed-&createdTimeFrom=${new Date(Date.now() + 60_000).toISOString()}`)).json();
    expect(future).toEqual([]);
  });

  test('the unmodified DurableClient works against the host: status, list, raise, suspend/resume, terminate, purge, wait', async () => {
    const client = (op: string, id = '', body: unknown = {}) => fetch(`${host.url}/api/client/${op}/${id}`, { method: 'POST', body: JSON.stringify(body) });
    const id = await start('Forever', undefined, 'client-ops');
    expect((await client('suspend', id)).status).toBe(202);
    expect((await client('resume', id)).status).toBe(202);
    expect((await client('raise', id, { name: 'Never', data: { v: 1 } })).status).toBe(202);
    const wait = await client('wait', id);
    expect(wait.status).toBe(200);
    expect(await wait.json()).toEqual({ v: 1 });
    const status = (await (await client('status', id)).json()) as { runtimeStatus: string; history?: unknown[] };
    expect(status.runtimeStatus).toBe('Completed');
    const listed = (await (await client('list', '', { runtimeStatus: ['Completed'] })).json()) as { instanceId: string }[];
    expect(listed.some((s) => s.instanceId === id)).toBe(true);
    expect(await (await client('all')).json()).toBeGreaterThan(0);
    expect(await (await client('purge', id)).json()).toEqual({ instancesDeleted: 1 });
    const other = await start('Forever');
    expect((await client('terminate', other, { reason: 'client' })).status).toBe(202);
    expect((await waitForFinish(host.url, other)).runtimeStatus).toBe('Terminated');
  });

  test('values larger than a table property (and than an entity) are stored and returned intact', async () => {
    const status = await waitForFinish(host.url, await start('BigValues', 1_500_000), 60_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect((status.output as string).length).toBe(1_500_000);
    expect(status.customStatus).toEqual({ length: 1_500_000 });
  });

  // Over a running id, the extension (default NonRunningStates) answers from its catch-all: 500 with the exception.
  test('starting an orchestrator that does not exist answers 400; a running instance id answers 500 OrchestrationAlreadyExists', async () => {
    expect((await fetch(`${W}/orchestrators/NoSuchThing`, { method: 'POST' })).status).toBe(400);
    await start('Forever', undefined, 'dup-1');
    const dup = await fetch(`${W}/orchestrators/Forever/dup-1`, { method: 'POST' });
    expect({ status: dup.status, body: await dup.json() }).toEqual({
      status: 500,
      body: {
        Message: 'Something went wrong while processing your request',
        ExceptionMessage: expect.stringMatching(/^An Orchestration instance with the status (Pending|Running) already exists\.$/),
        ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
      },
    });
    const bad = await fetch(`${W}/orchestrators/Hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    expect(bad.status).toBe(400);
  });
});
