/**
 * Golden histories from outside this host: the durable-js SDK's own test fixtures, which spell out
 * the history the extension hands an orchestrator (azure-functions-durable-js, commit c212f6c,
 * test/testobjects/testhistories.ts `TestHistories.*`, used with the orchestrations of
 * test/testobjects/TestOrchestrations.ts, which fixture-sdk-app repeats under the same names).
 * Each case runs that orchestration on the local host and compares the history it stored with the
 * fixture: event types in order, the ids that tie results to their tasks (EventId, TaskScheduledId,
 * TimerId), names, results and failure reasons. Timestamps and IsPlayed are left out (the fixtures
 * pick them freely), and so is TaskScheduled.Input, which the fixtures do not model consistently.
 * @see https://github.com/Azure/azure-functions-durable-js/blob/c212f6c4129c2c4fd128f67af688a1545b4c81a1/test/testobjects/testhistories.ts
 */
import { DurableStore } from '../../devhost/src/storage/durable-store';
import { EVENT_TYPE_NAMES, type HistoryEvent } from '../../devhost/src/durable/protocol';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, waitForFinish, type HostProcess, type TestAzurite } from './support';

let azurite: TestAzurite;
let host: HostProcess;
let appDir: string;
let store: DurableStore;

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp({ AzureWebJobsStorage: azurite.connectionString }, 'fixture-sdk-app');
  host = await spawnHost(appDir, {});
  store = new DurableStore(azurite.connectionString, 'SdkFixtureHub');
}, 60_000);

afterAll(async () => {
  await host?.kill('SIGTERM');
  await azurite?.stop();
  if (appDir) removeDir(appDir);
});

/** The fields compared; a fixture event lists only those it sets. */
type Golden = { EventType: string; EventId: number; Name?: string; TaskScheduledId?: number; TimerId?: number; Result?: string; Reason?: string; InstanceId?: string };
const COMPARED = ['Name', 'TaskScheduledId', 'TimerId', 'Result', 'Reason', 'InstanceId'] as const;

const e = (type: string, fields: Omit<Golden, 'EventType' | 'EventId'> = {}, eventId = -1): Golden => ({ EventType: type, EventId: eventId, ...fields });
/** One episode as the fixtures write it: OrchestratorStarted, its events, OrchestratorCompleted. */
const episode = (...events: Golden[]): Golden[] => [e('OrchestratorStarted'), ...events, e('OrchestratorCompleted')];
/** The episode being delivered: the fixtures end with it, before its OrchestratorCompleted. */
const delivering = (...events: Golden[]): Golden[] => [e('OrchestratorStarted'), ...events];

function project(ev: HistoryEvent, like: Golden | undefined): Golden {
  const out: Golden = { EventType: EVENT_TYPE_NAMES[ev.EventType] ?? String(ev.EventType), EventId: ev.EventId };
  for (const key of COMPARED) if (like && key in like) (out as Record<string, unknown>)[key] = ev[key];
  return out;
}

async function storedHistory(instanceId: string): Promise<HistoryEvent[]> {
  const r = (await store.readInstance(instanceId))!;
  return (await store.readHistory(instanceId, r.generation, r.historyRows, r.historyTail)) as HistoryEvent[];
}

/** The stored history's first events, projected onto the fields each fixture event sets. */
async function compared(instanceId: string, fixture: Golden[], skipMarkers = false): Promise<{ actual: Golden[]; fixture: Golden[] }> {
  const isMarker = (type: string) => type === 'OrchestratorStarted' || type === 'OrchestratorCompleted';
  let history = await storedHistory(instanceId);
  let expected = fixture;
  if (skipMarkers) {
    history = history.filter((ev) => !isMarker(EVENT_TYPE_NAMES[ev.EventType]));
    expected = fixture.filter((ev) => !isMarker(ev.EventType));
  }
  return { actual: history.slice(0, expected.length).map((ev, i) => project(ev, expected[i])), fixture: expected };
}

async function run(name: string, id: string, input: unknown): Promise<void> {
  const res = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/${name}/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? '' : JSON.stringify(input),
  });
  expect(res.status).toBe(202);
}

test('GetSayHelloWithActivityReplayOne: one activity, its result tied to TaskScheduled 0', async () => {
  await run('SayHelloWithActivity', 'sdk-hello', 'World');
  await waitForFinish(host.url, 'sdk-hello');
  const fixture = [
    ...episode(e('ExecutionStarted', { Name: 'SayHelloWithActivity' }), e('TaskScheduled', { Name: 'Hello' }, 0)),
    ...delivering(e('TaskCompleted', { TaskScheduledId: 0, Result: JSON.stringify('Hello, World!') })),
  ];
  const { actual, fixture: expected } = await compared('sdk-hello', fixture);
  expect(actual).toEqual(expected);
});

test('GetSayHelloWithActivityRetryRetryTwo: a retry timer after every failure, the re-attempt in the timer\'s episode', async () => {
  await run('SayHelloWithActivityRetry', 'sdk-retry', 'fail');
  const done = await waitForFinish(host.url, 'sdk-retry');
  expect(done.runtimeStatus).toBe('Failed');
  const reason = "Activity function 'Hello' failed: Result: Failure";
  const fixture = [
    ...episode(e('ExecutionStarted', { Name: 'SayHelloWithActivityRetry' }), e('TaskScheduled', { Name: 'Hello' }, 0)),
    ...episode(e('TaskFailed', { TaskScheduledId: 0, Reason: reason }), e('TimerCreated', {}, 1)),
    ...episode(e('TimerFired', { TimerId: 1 }), e('TaskScheduled', { Name: 'Hello' }, 2)),
    ...episode(e('TaskFailed', { TaskScheduledId: 2, Reason: reason }), e('TimerCreated', {}, 3)),
    ...delivering(e('TimerFired', { TimerId: 3 })),
  ];
  const { actual, fixture: expected } = await compared('sdk-retry', fixture);
  expect(actual).toEqual(expected);
  // The fixture's retry timers fire `retryInterval` after the episode that created them.
  for (const created of (await storedHistory('sdk-retry')).filter((ev) => EVENT_TYPE_NAMES[ev.EventType] === 'TimerCreated')) {
    expect(Date.parse(String(created.FireAt)) - Date.parse(created.Timestamp)).toBe(300);
  }
});

test('GetWaitForExternalEventEventReceived: the event delivered by name in its own episode', async () => {
  await run('WaitForExternalEvent', 'sdk-event', undefined);
  await eventually(async () => ((await store.readInstance('sdk-event'))?.status === 'Running' ? true : undefined));
  const raised = await fetch(`${host.url}/runtime/webhooks/durabletask/instances/sdk-event/raiseEvent/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify('Ada'),
  });
  expect(raised.status).toBe(202);
  const done = await waitForFinish(host.url, 'sdk-event');
  expect(done.output).toBe('Hello, Ada!');
  const fixture = [...episode(e('ExecutionStarted', { Name: 'WaitForExternalEvent' })), ...delivering(e('EventRaised', { Name: 'start' }))];
  const { actual, fixture: expected } = await compared('sdk-event', fixture);
  expect(actual).toEqual(expected);
});

test('GetSayHelloWithSubOrchestratorReplayOne: SubOrchestrationInstanceCreated 0 with the child id, its result tied to it', async () => {
  await run('SayHelloWithSubOrchestrator', 'sdk-sub', 'World');
  await waitForFinish(host.url, 'sdk-sub');
  const fixture = [
    ...episode(
      e('ExecutionStarted', { Name: 'SayHelloWithSubOrchestrator' }),
      e('SubOrchestrationInstanceCreated', { Name: 'SayHelloWithActivity', InstanceId: 'sdk-sub:0' }, 0),
    ),
    ...delivering(e('SubOrchestrationInstanceCompleted', { TaskScheduledId: 0, Result: JSON.stringify('Hello, World!') })),
  ];
  const { actual, fixture: expected } = await compared('sdk-sub', fixture);
  expect(actual).toEqual(expected);
});

test('GetAnyAOrB (completeInOrder): both activities scheduled in one episode, ids 0 and 1', async () => {
  await run('AnyAOrB', 'sdk-any', true);
  expect((await waitForFinish(host.url, 'sdk-any')).output).toBe('A');
  const fixture = [
    ...episode(e('ExecutionStarted', { Name: 'AnyAOrB' }), e('TaskScheduled', { Name: 'TaskA' }, 0), e('TaskScheduled', { Name: 'TaskB' }, 1)),
    ...delivering(e('TaskCompleted', { TaskScheduledId: 0, Result: JSON.stringify('A') })),
  ];
  const { actual, fixture: expected } = await compared('sdk-any', fixture);
  expect(actual).toEqual(expected);
});

test('GetTimerActivityRaceActivityWinsHistory (iteration 4): timer 0 and activity 1, then TaskB 2 while the timer still fires', async () => {
  await run('TimerActivityRace', 'sdk-race', undefined);
  expect((await waitForFinish(host.url, 'sdk-race')).output).toEqual({});
  const fixture = [
    ...episode(e('ExecutionStarted', { Name: 'TimerActivityRace' }), e('TimerCreated', {}, 0), e('TaskScheduled', { Name: 'TaskA' }, 1)),
    ...episode(e('TaskCompleted', { TaskScheduledId: 1, Result: '{}' }), e('TaskScheduled', { Name: 'TaskB' }, 2)),
    ...episode(e('TimerFired', { TimerId: 0 })),
    ...episode(e('TaskCompleted', { TaskScheduledId: 2, Result: '{}' })),
  ];
  const { actual, fixture: expected } = await compared('sdk-race', fixture);
  expect(actual).toEqual(expected);
});

test('GetWaitOnTimerFired: a long timer as segments of longRunningTimerIntervalDuration, one id each, the last at fireAt', async () => {
  // host.json of fixture-sdk-app: maximumShortTimerDuration 1 s, longRunningTimerIntervalDuration 400 ms.
  const fireAt = new Date(Date.now() + 2200).toISOString();
  await run('WaitOnTimer', 'sdk-timer', fireAt);
  expect((await waitForFinish(host.url, 'sdk-timer')).output).toBe('Timer fired!');
  // The fixture's loop: while fireAt - (segment start) > 1 s, a 400 ms segment; 2.2 s gives three, then the last.
  const fixture = [
    e('ExecutionStarted', { Name: 'WaitOnTimer' }),
    ...[0, 1, 2, 3].flatMap((id) => [e('TimerCreated', {}, id), e('TimerFired', { TimerId: id })]),
  ];
  const { actual, fixture: expected } = await compared('sdk-timer', fixture, true);
  expect(actual).toEqual(expected);
  const created = (await storedHistory('sdk-timer')).filter((ev) => EVENT_TYPE_NAMES[ev.EventType] === 'TimerCreated');
  expect(String(created[3].FireAt)).toBe(fireAt);
  for (const segment of created.slice(0, 3)) expect(Date.parse(String(segment.FireAt)) - Date.parse(segment.Timestamp)).toBe(400);
});
