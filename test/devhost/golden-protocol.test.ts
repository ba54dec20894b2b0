/**
 * Golden tests of the replay protocol: given histories built the way devhost builds them, the real
 * durable-functions orchestrator handler (invoked through the real @azure/functions invocation model
 * with worker-style RPC input) returns the actions devhost expects. An SDK upgrade that changes ids,
 * action shapes or encodings fails here.
 */
import { CoreRegistry, type RegisteredFunction } from '../../devhost/src/core-api';
import { ActionType, EventType, flattenActions, parseOrchestratorFailure, type HistoryEvent, type OrchestratorState } from '../../devhost/src/durable/protocol';
import { FunctionInvocationError, Invoker } from '../../devhost/src/invoker';

const mockRegistry = new CoreRegistry();
jest.mock('@azure/functions-core', () => mockRegistry.createCoreApi(), { virtual: true });

type Df = typeof import('durable-functions');
let df: Df;
const invoker = new Invoker(mockRegistry, { info: () => undefined, error: () => undefined });
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

beforeAll(() => {
  df = require('durable-functions') as Df;
  df.app.activity('Greet', { handler: (n: string) => `Hello ${n}` });
  df.app.orchestration('GoldenGreeting', function* (ctx) {
    const greeting: string = yield ctx.df.callActivity('Greet', ctx.df.getInput());
    ctx.df.setCustomStatus({ stage: 'waiting' });
    const approval = ctx.df.waitForExternalEvent('Approve');
    const timer = ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 60_000));
    const winner = yield ctx.df.Task.any([approval, timer]);
    if (winner === approval) timer.cancel();
    if (winner === approval) return `${greeting} / ${String(approval.result)}`;
    ctx.df.continueAsNew('again');
    return undefined;
  });
  df.app.orchestration('GoldenRetry', function* (ctx) {
    const [a, b] = yield ctx.df.Task.all([ctx.df.callActivityWithRetry('Greet', new df.RetryOptions(1000, 2), 'x'), ctx.df.callActivity('Greet', 'y')]);
    return [a, b];
  });
  df.app.orchestration('GoldenLongTimer', function* (ctx) {
    yield ctx.df.createTimer(new Date(ctx.df.currentUtcDateTime.getTime() + 2200));
    return 'woke';
  });
  df.app.orchestration('GoldenSub', function* (ctx) {
    return yield ctx.df.callSubOrchestrator('GoldenLongTimer', { a: 1 }, 'child-id');
  });
});

const at = (ms: number) => new Date(T0 + ms).toISOString();
const ev = (type: number, ms: number, fields: Record<string, unknown> = {}, id = -1): HistoryEvent => ({
  EventType: type,
  EventId: id,
  Timestamp: at(ms),
  IsPlayed: false,
  ...fields,
});
const started = (ms: number) => ev(EventType.OrchestratorStarted, ms);
const execStarted = (name: string, input: unknown) => ev(EventType.ExecutionStarted, 0, { Name: name, Input: JSON.stringify(input) });

function fn(name: string): RegisteredFunction {
  const f = mockRegistry.functions.get(name);
  if (!f) throw new Error(`${name} not registered`);
  return f;
}

/** Runs the orchestrator like devhost: RPC string input, state from returnValue or from the failure. */
async function replay(name: string, history: HistoryEvent[], input: unknown, timers = { short: '6.00:00:00', interval: '3.00:00:00' }): Promise<OrchestratorState> {
  const f = fn(name);
  const payload = {
    history,
    input,
    instanceId: 'golden',
    isReplaying: false,
    parentInstanceId: null,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: timers.interval,
    maximumShortTimerDuration: timers.short,
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
  try {
    const { response } = await invoker.invoke(f, [{ name: f.triggerBindingName, data: { string: JSON.stringify(payload) } }]);
    return JSON.parse(response.returnValue!.json!) as OrchestratorState;
  } catch (err) {
    const parsed = parseOrchestratorFailure((err as FunctionInvocationError).cause);
    if (!parsed.state) throw err;
    return parsed.state;
  }
}

test('functions register through the provided core module with the binding types devhost dispatches on', () => {
  expect(fn('Greet').triggerType).toBe('activityTrigger');
  expect(fn('GoldenGreeting').triggerType).toBe('orchestrationTrigger');
  expect(fn('GoldenGreeting').bindings).not.toHaveProperty('$return');
});

test('first episode: one CallActivity whose string input is JSON-encoded, schema V3 cumulative actions', async () => {
  const state = await replay('GoldenGreeting', [started(0), execStarted('GoldenGreeting', 'Ada')], 'Ada');
  expect(state).toEqual({ isDone: false, actions: [[{ actionType: ActionType.CallActivity, functionName: 'Greet', input: '"Ada"' }]], schemaVersion: 2 });
});

test('activity result: the WhenAny of an event wait and a timer follows, timer id 1 after activity id 0', async () => {
  const history = [
    started(0),
    execStarted('GoldenGreeting', 'Ada'),
    ev(EventType.TaskScheduled, 0, { Name: 'Greet' }, 0),
    ev(EventType.OrchestratorCompleted, 0),
    started(10),
    ev(EventType.TaskCompleted, 10, { TaskScheduledId: 0, Result: '"Hello Ada"' }),
  ];
  const state = await replay('GoldenGreeting', history, 'Ada');
  expect(state.customStatus).toEqual({ stage: 'waiting' });
  expect(state.actions[0][1]).toEqual({
    actionType: ActionType.WhenAny,
    compoundActions: [
      { actionType: ActionType.WaitForExternalEvent, externalEventName: 'Approve', reason: 'ExternalEvent' },
      { actionType: ActionType.CreateTimer, fireAt: at(10 + 60_000), isCanceled: false },
    ],
  });
  // Ids in flattening order, skipping the event wait: activity #0, timer #1.
  const idBearing = flattenActions(state.actions).filter((a) => a.actionType !== ActionType.WaitForExternalEvent);
  expect(idBearing.map((a) => a.actionType)).toEqual([ActionType.CallActivity, ActionType.CreateTimer]);

  const approved = await replay('GoldenGreeting', [...history, ev(EventType.TimerCreated, 10, { FireAt: at(60_010) }, 1), started(20), ev(EventType.EventRaised, 20, { Name: 'Approve', Input: '"yes"' })], 'Ada');
  expect(approved.isDone).toBe(true);
  expect(approved.output).toBe('Hello Ada / yes');
  const timer = flattenActions(approved.actions).find((a) => a.actionType === ActionType.CreateTimer);
  expect(timer!.isCanceled).toBe(true);
});

test('an event raised before anyone waits for it is buffered until the wait', async () => {
  const history = [
    started(0),
    execStarted('GoldenGreeting', 'Ada'),
    started(5),
    ev(EventType.EventRaised, 5, { Name: 'Approve', Input: '"early"' }),
    started(10),
    ev(EventType.TaskCompleted, 10, { TaskScheduledId: 0, Result: '"Hello Ada"' }),
  ];
  const state = await replay('GoldenGreeting', history, 'Ada');
  expect(state.isDone).toBe(true);
  expect(state.output).toBe('Hello Ada / early');
});

test('timer wins: continueAsNew is an action of its own, with its string input JSON-encoded', async () => {
  const history = [
    started(0),
    execStarted('GoldenGreeting', 'Ada'),
    started(10),
    ev(EventType.TaskCompleted, 10, { TaskScheduledId: 0, Result: '"Hello Ada"' }),
    started(60_010),
    ev(EventType.TimerFired, 60_010, { TimerId: 1, FireAt: at(60_010) }),
  ];
  const state = await replay('GoldenGreeting', history, 'Ada');
  expect(state.isDone).toBe(true);
  expect(state.actions[0][state.actions[0].length - 1]).toEqual({ actionType: ActionType.ContinueAsNew, input: '"again"' });
});

test('retry: after each failure the SDK waits on a timer with the next id, then re-attempts with the id after it', async () => {
  const failed = (id: number, ms: number) => [
    started(ms),
    ev(EventType.TaskFailed, ms, { TaskScheduledId: id, Reason: 'boom', Details: 'stack', FailureDetails: { ErrorType: 'Error', ErrorMessage: 'boom' } }),
  ];
  const base = [started(0), execStarted('GoldenRetry', null)];
  const first = await replay('GoldenRetry', base, null);
  expect(first.actions[0]).toEqual([
    {
      actionType: ActionType.WhenAll,
      compoundActions: [
        { actionType: ActionType.CallActivityWithRetry, functionName: 'Greet', input: '"x"', retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2 } },
        { actionType: ActionType.CallActivity, functionName: 'Greet', input: '"y"' },
      ],
    },
  ]);
  // Attempt #0 fails → retry timer #2 (ids 0 and 1 are the two activities) → re-attempt #3 succeeds.
  const history = [
    ...base,
    ...failed(0, 10),
    started(20),
    ev(EventType.TaskCompleted, 20, { TaskScheduledId: 1, Result: '"Hello y"' }),
    started(1010),
    ev(EventType.TimerFired, 1010, { TimerId: 2, FireAt: at(1010) }),
    started(1020),
    ev(EventType.TaskCompleted, 1020, { TaskScheduledId: 3, Result: '"Hello x"' }),
  ];
  const done = await replay('GoldenRetry', history, null);
  expect(done.isDone).toBe(true);
  expect(done.output).toEqual(['Hello x', 'Hello y']);
  // The last failure is followed by one more timer (#5) before the error surfaces.
  const exhausted = await replay('GoldenRetry', [...base, ...failed(0, 10), started(1010), ev(EventType.TimerFired, 1010, { TimerId: 2, FireAt: at(1010) }), ...failed(3, 1020)], null);
  expect(exhausted.isDone).toBe(false);
  const failedState = await replay('GoldenRetry', [...base, ...failed(0, 10), started(1010), ev(EventType.TimerFired, 1010, { TimerId: 2, FireAt: at(1010) }), ...failed(3, 1020), started(2020), ev(EventType.TimerFired, 2020, { TimerId: 4, FireAt: at(2020) })], null);
  expect(failedState.error).toBe('Error: boom');
  expect(failedState.failureDetails).toMatchObject({ ErrorType: 'Error', ErrorMessage: 'boom' });
});

test('long timer: one CreateTimer with the final fireAt; each segment takes the next id until the final time', async () => {
  const timers = { short: '00:00:01', interval: '00:00:00.400' };
  const base = [started(0), execStarted('GoldenLongTimer', null)];
  const first = await replay('GoldenLongTimer', base, null, timers);
  expect(first.actions).toEqual([[{ actionType: ActionType.CreateTimer, fireAt: at(2200), isCanceled: false }]]);
  // devhost's segments: ends at 400, 800, 1200 (2200−800 > 1000), then 2200 − 1200 = 1000 is not > 1000 → final.
  const history = [...base];
  const ends = [400, 800, 1200, 2200];
  ends.forEach((end, id) => history.push(started(end), ev(EventType.TimerFired, end, { TimerId: id, FireAt: at(end) })));
  const notYet = await replay('GoldenLongTimer', history.slice(0, -2), null, timers);
  expect(notYet.isDone).toBe(false);
  const done = await replay('GoldenLongTimer', history, null, timers);
  expect(done.isDone).toBe(true);
  expect(done.output).toBe('woke');
});

test('sub-orchestration: action carries name, raw input and instance id; completion is matched by TaskScheduledId', async () => {
  const base = [started(0), execStarted('GoldenSub', null)];
  const first = await replay('GoldenSub', base, null);
  expect(first.actions).toEqual([[{ actionType: ActionType.CallSubOrchestrator, functionName: 'GoldenLongTimer', input: { a: 1 }, instanceId: 'child-id' }]]);
  const done = await replay('GoldenSub', [...base, started(10), ev(EventType.SubOrchestrationInstanceCompleted, 10, { TaskScheduledId: 0, Result: '"woke"' })], null);
  expect(done.output).toBe('woke');
});
