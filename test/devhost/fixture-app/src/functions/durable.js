// Durable features: activities (with retry), timers (short and long), events, Task.any/all,
// sub-orchestrations, continueAsNew, custom status, failure details, large values.
const { app } = require('@azure/functions');
const df = require('durable-functions');

const attempts = new Map();

df.app.activity('Greet', { handler: (name) => `Hello ${name}` });
df.app.activity('Double', { handler: (n) => n * 2 });
df.app.activity('Echo', { handler: (v) => v });
df.app.activity('Flaky', {
  handler: (key) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    if (n < 3) throw new Error(`flaky failure ${n}`);
    return n;
  },
});
df.app.activity('AlwaysFails', {
  handler: () => {
    const err = new Error('always fails');
    err.name = 'FixtureError';
    throw err;
  },
});
df.app.activity('Big', { handler: (size) => 'x'.repeat(size) });
df.app.activity('CountRuns', {
  handler: (key) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  },
});

// Appends one line per run to a file, then takes its time: lets a test kill the host mid-activity.
df.app.activity('SlowAppend', {
  handler: async ({ file, ms }) => {
    require('node:fs').appendFileSync(file, 'run\n');
    await new Promise((r) => setTimeout(r, ms));
    return 'slow done';
  },
});

df.app.orchestration('SlowWork', function* (context) {
  return yield context.df.callActivity('SlowAppend', context.df.getInput());
});

df.app.orchestration('Hello', function* (context) {
  const name = context.df.getInput();
  return yield context.df.callActivity('Greet', name);
});

df.app.orchestration('Chain', function* (context) {
  const a = yield context.df.callActivity('Double', context.df.getInput());
  const b = yield context.df.callActivity('Double', a);
  return yield context.df.callActivity('Double', b);
});

df.app.orchestration('FanOut', function* (context) {
  const tasks = [1, 2, 3, 4].map((n) => context.df.callActivity('Double', n));
  const results = yield context.df.Task.all(tasks);
  return results.reduce((a, b) => a + b, 0);
});

df.app.orchestration('Retry', function* (context) {
  const key = context.df.getInput();
  const n = yield context.df.callActivityWithRetry('Flaky', new df.RetryOptions(50, 3), key);
  return { attempts: n };
});

df.app.orchestration('RetryExhausted', function* (context) {
  context.df.setCustomStatus({ stage: 'trying' });
  try {
    yield context.df.callActivityWithRetry('AlwaysFails', new df.RetryOptions(20, 2));
    return 'unexpected';
  } catch (err) {
    return { message: err.message, name: err.name, errorType: err.failureDetails ? err.failureDetails.errorType : null };
  }
});

df.app.orchestration('Fails', function* (context) {
  context.df.setCustomStatus('about to fail');
  yield context.df.callActivity('AlwaysFails');
  return 'unreachable';
});

df.app.orchestration('Timers', function* (context) {
  const start = context.df.currentUtcDateTime.getTime();
  yield context.df.createTimer(new Date(start + 200));
  // Longer than maximumShortTimerDuration (1 s in host.json): split into 400 ms segments.
  yield context.df.createTimer(new Date(start + 2200));
  return context.df.currentUtcDateTime.getTime() - start >= 2200;
});

df.app.orchestration('Approval', function* (context) {
  context.df.setCustomStatus('waiting');
  const deadline = new Date(context.df.currentUtcDateTime.getTime() + (context.df.getInput()?.timeoutMs ?? 60000));
  const approval = context.df.waitForExternalEvent('Approve');
  const timeout = context.df.createTimer(deadline);
  const winner = yield context.df.Task.any([approval, timeout]);
  if (winner === approval) {
    timeout.cancel();
    context.df.setCustomStatus('approved');
    return { outcome: 'approved', by: approval.result };
  }
  context.df.setCustomStatus('timed out');
  return { outcome: 'timeout' };
});

df.app.orchestration('TwoEvents', function* (context) {
  const first = yield context.df.waitForExternalEvent('First');
  const second = yield context.df.waitForExternalEvent('Second');
  return [first, second];
});

df.app.orchestration('TimerThenWork', function* (context) {
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + (context.df.getInput() ?? 1000)));
  return yield context.df.callActivity('Greet', 'after timer');
});

df.app.orchestration('Parent', function* (context) {
  const child = yield context.df.callSubOrchestrator('Hello', 'child', `${context.df.instanceId}-child`);
  let failure = null;
  try {
    yield context.df.callSubOrchestrator('Fails');
  } catch (err) {
    failure = err.message;
  }
  return { child, failure };
});

df.app.orchestration('Counter', function* (context) {
  const state = context.df.getInput() ?? { n: 0, seen: [] };
  context.df.setCustomStatus({ n: state.n });
  if (state.n >= 3) return state;
  const value = yield context.df.waitForExternalEvent('Add');
  return context.df.continueAsNew({ n: state.n + 1, seen: [...state.seen, value] });
});

df.app.orchestration('Forever', function* (context) {
  context.df.setCustomStatus('idle');
  const v = yield context.df.waitForExternalEvent('Never');
  return v;
});

df.app.orchestration('BigValues', function* (context) {
  const big = yield context.df.callActivity('Big', context.df.getInput());
  context.df.setCustomStatus({ length: big.length });
  const echoed = yield context.df.callActivity('Echo', big);
  return echoed.length === big.length ? big : 'mismatch';
});

df.app.orchestration('RunsOnce', function* (context) {
  return yield context.df.callActivity('CountRuns', context.df.getInput());
});

app.http('startOrchestration', {
  methods: ['POST'],
  route: 'start/{name}/{instanceId?}',
  extraInputs: [df.input.durableClient()],
  handler: async (req, context) => {
    const client = df.getClient(context);
    const text = await req.text();
    const instanceId = await client.startNew(req.params.name, {
      instanceId: req.params.instanceId,
      input: text ? JSON.parse(text) : undefined,
    });
    context.log(`Started ${req.params.name} as ${instanceId}`);
    return client.createCheckStatusResponse(req, instanceId);
  },
});

app.http('clientOps', {
  methods: ['POST'],
  route: 'client/{op}/{instanceId?}',
  extraInputs: [df.input.durableClient()],
  handler: async (req, context) => {
    const client = df.getClient(context);
    const body = (await req.text()) || '{}';
    const args = JSON.parse(body);
    const id = req.params.instanceId;
    switch (req.params.op) {
      case 'status':
        return { jsonBody: await client.getStatus(id, { showHistory: true, showHistoryOutput: true }) };
      case 'list':
        return { jsonBody: await client.getStatusBy({ runtimeStatus: args.runtimeStatus }) };
      case 'all':
        return { jsonBody: (await client.getStatusAll()).length };
      case 'raise':
        await client.raiseEvent(id, args.name, args.data);
        return { status: 202 };
      case 'terminate':
        await client.terminate(id, args.reason ?? 'by test');
        return { status: 202 };
      case 'suspend':
        await client.suspend(id, 'by test');
        return { status: 202 };
      case 'resume':
        await client.resume(id, 'by test');
        return { status: 202 };
      case 'purge':
        return { jsonBody: await client.purgeInstanceHistory(id) };
      case 'wait':
        return client.waitForCompletionOrCreateCheckStatusResponse(req, id, { timeoutInMilliseconds: 10000, retryIntervalInMilliseconds: 100 });
      default:
        return { status: 400 };
    }
  },
});

// A refresh loop as a token broker runs one per connection: wait until a due time, do the work,
// continue as new. The activity answers how many milliseconds after the due time it ran (timer
// lateness, including the episode and the dispatch); bench/host.js reads the collected figures.
df.app.activity('Lateness', { handler: (dueMs) => Date.now() - dueMs });

df.app.orchestration('RefreshLoop', function* (context) {
  const { everyMs, firstMs = everyMs, rounds, late = [] } = context.df.getInput();
  const due = new Date(context.df.currentUtcDateTime.getTime() + (late.length === 0 ? firstMs : everyMs));
  yield context.df.createTimer(due);
  late.push(yield context.df.callActivity('Lateness', due.getTime()));
  if (late.length >= rounds) return late;
  context.df.continueAsNew({ everyMs, rounds, late });
  return undefined;
});

// Azure semantics tests. Activity runs are logged in memory, per key, and readable over HTTP.
const runLog = new Map();
const logRun = (key, entry) => runLog.set(key, [...(runLog.get(key) ?? []), entry]);
app.http('runLog', { methods: ['GET'], route: 'runs/{key}', handler: async (req) => ({ jsonBody: runLog.get(req.params.key) ?? [] }) });

// Takes `ms`, then answers `tag`: its result can arrive after its execution was replaced.
df.app.activity('SlowTag', {
  handler: async ({ key, tag, ms }) => {
    logRun(key, `start ${tag}`);
    await new Promise((r) => setTimeout(r, ms));
    logRun(key, `done ${tag}`);
    return tag;
  },
});

df.app.orchestration('Tagged', function* (context) {
  return yield context.df.callActivity('SlowTag', context.df.getInput());
});

// Generation 0 buffers "Early" without waiting for it, then continues as new when "Go" arrives.
// Generation 1 answers which event it gets first: a carried-over "Early" would come before "Late".
df.app.orchestration('Generations', function* (context) {
  const { gen } = context.df.getInput();
  if (gen === 0) {
    yield context.df.waitForExternalEvent('Go');
    context.df.continueAsNew({ gen: 1 });
    return undefined;
  }
  const early = context.df.waitForExternalEvent('Early');
  const late = context.df.waitForExternalEvent('Late');
  const first = yield context.df.Task.any([early, late]);
  return { gen, first: first === early ? 'Early' : 'Late', value: first.result };
});

// Counts its runs per key: under the at-least-once switch every activity runs twice.
df.app.activity('CountedRun', {
  handler: (key) => {
    logRun(key, 'run');
    return (runLog.get(key) ?? []).length;
  },
});

df.app.orchestration('CountedOnce', function* (context) {
  return yield context.df.callActivity('CountedRun', context.df.getInput());
});

// Work that takes a while, answering which host ran it: lets a test see where activities ran when
// several hosts share the task hub and one of them dies.
df.app.activity('SlowDouble', {
  handler: async (n) => {
    await new Promise((r) => setTimeout(r, 150));
    return { value: n * 2, worker: process.env.WEBSITE_INSTANCE_ID };
  },
});

df.app.orchestration('Relay', function* (context) {
  const n = context.df.getInput();
  const first = yield context.df.callActivity('SlowDouble', n);
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 400));
  const second = yield context.df.callActivity('SlowDouble', first.value);
  return { n, result: second.value, workers: [first.worker, second.worker] };
});
