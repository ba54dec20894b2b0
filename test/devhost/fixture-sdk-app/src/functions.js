// The orchestrations of azure-functions-durable-js test/testobjects/TestOrchestrations.ts (same names
// and logic; a shorter retry interval), whose histories that SDK's test fixtures spell out: see
// test/devhost/golden-sdk-fixtures.test.ts.
const df = require('durable-functions');
df.app.activity('Hello', {
  handler: (input) => {
    if (input === 'fail') throw new Error('Result: Failure');
    return `Hello, ${input}!`;
  },
});
df.app.activity('TaskA', { handler: (input) => (input === undefined || input === null ? {} : 'A') });
df.app.activity('TaskB', {
  handler: async (input) => {
    // Finishes after TaskA, and in the timer race after the 1 s timer.
    await new Promise((r) => setTimeout(r, input === undefined || input === null ? 1500 : 300));
    return input === undefined || input === null ? {} : 'B';
  },
});

df.app.orchestration('SayHelloWithActivity', function* (context) {
  return yield context.df.callActivity('Hello', context.df.getInput());
});

df.app.orchestration('SayHelloWithActivityRetry', function* (context) {
  return yield context.df.callActivityWithRetry('Hello', new df.RetryOptions(300, 2), context.df.getInput());
});

df.app.orchestration('WaitForExternalEvent', function* (context) {
  const name = yield context.df.waitForExternalEvent('start');
  return yield context.df.callActivity('Hello', name);
});

df.app.orchestration('WaitOnTimer', function* (context) {
  yield context.df.createTimer(new Date(context.df.getInput()));
  return 'Timer fired!';
});

df.app.orchestration('SayHelloWithSubOrchestrator', function* (context) {
  return yield context.df.callSubOrchestrator('SayHelloWithActivity', context.df.getInput(), `${context.df.instanceId}:0`);
});

df.app.orchestration('AnyAOrB', function* (context) {
  const completeInOrder = context.df.getInput();
  const winner = yield context.df.Task.any([context.df.callActivity('TaskA', completeInOrder), context.df.callActivity('TaskB', completeInOrder)]);
  return winner.result;
});

df.app.orchestration('TimerActivityRace', function* (context) {
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 1000));
  const activity = context.df.callActivity('TaskA');
  const winner = yield context.df.Task.any([timer, activity]);
  if (winner === timer) return 'Timer finished';
  yield context.df.callActivity('TaskB');
  return winner.result;
});
