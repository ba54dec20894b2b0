// Which worker process runs what: HTTP answers with the worker's pid; an orchestrator shows, in its
// custom status, the pid of the process each of its episodes ran in (deliberately not replay-safe).
const { app } = require('@azure/functions');
const df = require('durable-functions');

app.http('workerPid', { methods: ['GET'], route: 'worker/pid', handler: async () => ({ jsonBody: { pid: process.pid } }) });

app.http('workerSleep', {
  methods: ['GET'],
  route: 'worker/sleep',
  handler: async (req, context) => {
    context.log(`sleeping in worker ${process.pid}`);
    await new Promise((r) => setTimeout(r, Number(req.query.get('ms'))));
    return { jsonBody: { pid: process.pid } };
  },
});

app.http('workerEcho', { methods: ['GET'], route: 'worker/echo', handler: async (req) => ({ jsonBody: { echo: req.query.get('v'), pid: process.pid } }) });

// Logs `lines` numbered lines (each padded with `pad` x's) and, unless `exit=0`, ends the worker in
// the same turn: what the worker still had queued for the host is then all that can carry them.
app.http('workerLogThenExit', {
  methods: ['GET'],
  route: 'worker/log-then-exit',
  handler: async (req, context) => {
    const run = req.query.get('run');
    const pad = 'x'.repeat(Number(req.query.get('pad') ?? 0));
    for (let i = 0; i < Number(req.query.get('lines')); i++) context.log(`line ${i} of ${run}${pad && ' '}${pad}`);
    if (req.query.get('exit') === '0') return { body: 'logged' };
    process.exit(3);
  },
});

df.app.orchestration('WorkerPids', function* (context) {
  for (let step = 0; ; step++) {
    context.df.setCustomStatus({ step, pid: process.pid });
    if ((yield context.df.waitForExternalEvent('Next')) === 'stop') return step;
  }
});

// Generation after generation with nothing to wait for: each next one starts in the worker at once.
// eslint-disable-next-line require-yield -- the SDK takes generators only; this one never waits
df.app.orchestration('Spin', function* (context) {
  const n = context.df.getInput();
  if (n >= 150) return n;
  context.df.continueAsNew(n + 1);
  return undefined;
});
