/**
 * The replay path through the real durable-functions SDK: the SDK's own Orchestrator handler is fed
 * worker-style histories (notes/durable-host-protocol.md §2) and the returned actions are asserted.
 */
import { InvocationContext } from '@azure/functions';
import { Activities, Events } from '../../../src/durable/names';
import { refreshMarginMs } from '../../../src/domain/refresh-policy';
import { connectionOrchestrator } from '../../../src/orchestrations/connection';
import type { AuthorizePhaseInput, ExchangeResult, MaintainPhaseInput } from '../../../src/durable/contract';
import { webhookDeliveryOrchestrator } from '../../../src/orchestrations/webhook-delivery';

// The SDK's own replay handler (what df.app.orchestration registers); internal path, untyped.
const { Orchestrator } = require('durable-functions/lib/src/orchestrations/Orchestrator') as {
  Orchestrator: new (fn: unknown) => { listen(): (trigger: unknown, context: unknown) => Promise<unknown> };
};

const EventType = {
  ExecutionStarted: 0,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventRaised: 15,
} as const;
const ActionType = { CallActivity: 0, CallActivityWithRetry: 1, ContinueAsNew: 4, CreateTimer: 5, WaitForExternalEvent: 6, WhenAny: 11 } as const;

interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  [field: string]: unknown;
}
interface Action {
  actionType: number;
  [field: string]: unknown;
}
interface OrchestratorState {
  isDone: boolean;
  actions: Action[][];
  customStatus?: unknown;
  output?: unknown;
}

const T0 = '2030-01-01T00:00:00.000Z';
const REF = { connectionId: 'conn-1', clientId: 'app1', provider: 'acme', protocol: 'oauth2' as const };
const authorizeInput: AuthorizePhaseInput = { ...REF, phase: 'authorize', authorizationId: 'auth-1', deadline: '2030-01-01T00:10:00.000Z' };

function event(type: number, timestamp: string, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp, ...fields };
}

function started(input: unknown): HistoryEvent[] {
  return [
    event(EventType.OrchestratorStarted, T0),
    event(EventType.ExecutionStarted, T0, { Name: 'connectionOrchestrator', Input: JSON.stringify(input) }),
  ];
}

/** Closes the previous episode and opens the next one at `timestamp`. */
function episode(timestamp: string, ...events: HistoryEvent[]): HistoryEvent[] {
  return [event(EventType.OrchestratorCompleted, timestamp), event(EventType.OrchestratorStarted, timestamp), ...events];
}

async function replay(fn: unknown, input: unknown, history: HistoryEvent[]): Promise<OrchestratorState> {
  const handler = new Orchestrator(fn).listen();
  const trigger = {
    history,
    input,
    instanceId: 'conn-1',
    isReplaying: false,
    parentInstanceId: null,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: '6.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
  const state = await handler(trigger, new InvocationContext({ functionName: 'orchestrator', invocationId: 'inv-1' }));
  // The worker sends the state to the host as JSON; compare what the host would see.
  return JSON.parse(JSON.stringify(state)) as OrchestratorState;
}

function whenAny(actions: Action[]): Action {
  const race = actions.find((a) => a.actionType === ActionType.WhenAny);
  expect(race).toBeDefined();
  return race as Action;
}

describe('connection orchestration replayed by the durable-functions SDK', () => {
  it('when it starts in the authorize phase, then it asks for WhenAny of three external events and a timer at the deadline', async () => {
    const state = await replay(connectionOrchestrator, authorizeInput, started(authorizeInput));
    expect(state.isDone).toBe(false);
    expect(state.actions).toEqual([
      [
        {
          actionType: ActionType.WhenAny,
          compoundActions: [
            { actionType: ActionType.WaitForExternalEvent, externalEventName: Events.Callback, reason: 'ExternalEvent' },
            { actionType: ActionType.WaitForExternalEvent, externalEventName: Events.Revoke, reason: 'ExternalEvent' },
            { actionType: ActionType.WaitForExternalEvent, externalEventName: Events.Reauthorize, reason: 'ExternalEvent' },
            { actionType: ActionType.CreateTimer, fireAt: authorizeInput.deadline, isCanceled: false },
          ],
        },
      ],
    ]);
    expect(state.customStatus).toEqual({ status: 'awaiting_callback', authorizationId: 'auth-1', deadline: authorizeInput.deadline });
  });

  it('when the callback is raised, then the timer action is cancelled, the exchange is scheduled with retry, and after it the connection continues as new', async () => {
    const t1 = '2030-01-01T00:01:00.000Z';
    const callbackHistory = [
      ...started(authorizeInput),
      event(EventType.TimerCreated, T0, { FireAt: authorizeInput.deadline }, 0),
      ...episode(t1, event(EventType.EventRaised, t1, { Name: Events.Callback, Input: JSON.stringify({ authorizationId: 'auth-1', outcome: 'code' }) })),
    ];
    const afterCallback = await replay(connectionOrchestrator, authorizeInput, callbackHistory);
    const [race, exchange] = afterCallback.actions[0];
    expect((race.compoundActions as Action[])[3]).toMatchObject({ actionType: ActionType.CreateTimer, isCanceled: true });
    expect(exchange).toMatchObject({
      actionType: ActionType.CallActivityWithRetry,
      functionName: Activities.Exchange,
      input: { ...REF, authorizationId: 'auth-1' },
      retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 4, backoffCoefficient: 2 },
    });

    const exchanged: ExchangeResult = {
      outcome: 'connected',
      credentialsVersion: 1,
      issuedAt: t1,
      expiresAt: '2030-01-01T01:01:00.000Z',
      refreshable: true,
      scopes: ['read'],
    };
    const connectedHistory = [
      ...callbackHistory,
      event(EventType.TaskScheduled, t1, { Name: Activities.Exchange }, 1),
      ...episode(t1, event(EventType.TaskCompleted, t1, { TaskScheduledId: 1, Result: JSON.stringify(exchanged) })),
      event(EventType.TaskScheduled, t1, { Name: Activities.EnqueueWebhook }, 2),
      ...episode(t1, event(EventType.TaskCompleted, t1, { TaskScheduledId: 2, Result: 'null' })),
    ];
    const done = await replay(connectionOrchestrator, authorizeInput, connectedHistory);
    expect(done.isDone).toBe(true);
    const actions = done.actions[0];
    expect(actions[2]).toMatchObject({ actionType: ActionType.CallActivityWithRetry, functionName: Activities.EnqueueWebhook, input: { type: 'connection.connected' } });
    expect(actions[3]).toEqual({
      actionType: ActionType.ContinueAsNew,
      input: { ...REF, phase: 'maintain', credentialsVersion: 1, issuedAt: t1, expiresAt: exchanged.expiresAt, failures: 0, cycle: 0, settledAttempt: 'auth-1' },
    });
  });

  it('when the deadline timer fires, then the timer is not cancelled and the attempt is marked expired', async () => {
    const history = [
      ...started(authorizeInput),
      event(EventType.TimerCreated, T0, { FireAt: authorizeInput.deadline }, 0),
      ...episode(authorizeInput.deadline, event(EventType.TimerFired, authorizeInput.deadline, { TimerId: 0, FireAt: authorizeInput.deadline })),
    ];
    const state = await replay(connectionOrchestrator, authorizeInput, history);
    const [race, mark] = state.actions[0];
    expect((race.compoundActions as Action[])[3]).toMatchObject({ isCanceled: false });
    expect(mark).toMatchObject({ actionType: ActionType.CallActivityWithRetry, functionName: Activities.MarkOutcome, input: { status: 'expired' } });
  });

  it('in the maintain phase, the timer from the SDK-made jitter guid falls in [due, due + 10 % of the margin] and replays identically', async () => {
    const input: MaintainPhaseInput = {
      ...REF, phase: 'maintain', credentialsVersion: 2, issuedAt: T0, expiresAt: '2030-01-01T01:00:00.000Z', failures: 0, cycle: 4,
    };
    const first = await replay(connectionOrchestrator, input, started(input));
    const second = await replay(connectionOrchestrator, input, started(input));
    const timer = (whenAny(first.actions[0]).compoundActions as Action[])[3];
    const fireAtMs = Date.parse(timer.fireAt as string);
    const expiresMs = Date.parse(input.expiresAt);
    const margin = refreshMarginMs(Date.parse(T0), expiresMs);
    expect(fireAtMs).toBeGreaterThanOrEqual(expiresMs - margin);
    expect(fireAtMs).toBeLessThanOrEqual(expiresMs - margin + 0.1 * margin);
    expect(second.actions).toEqual(first.actions);
  });
});

describe('a reauthorize raised while a refresh runs, replayed by the durable-functions SDK', () => {
  const maintain: MaintainPhaseInput = {
    ...REF, phase: 'maintain', credentialsVersion: 2, issuedAt: T0, expiresAt: '2030-01-01T00:02:00.000Z', failures: 0, cycle: 4,
  };

  it('when the event lands before the refresh completes, then the next generation is the new attempt, not another refresh cycle', async () => {
    const first = await replay(connectionOrchestrator, maintain, started(maintain));
    const timer = (whenAny(first.actions[0]).compoundActions as Action[])[3];
    const fired = timer.fireAt as string;
    const t2 = '2030-01-01T00:01:30.000Z';
    const reauth = { authorizationId: 'auth-9', deadline: '2030-01-01T00:11:30.000Z' };
    const refreshed = { outcome: 'refreshed', credentialsVersion: 3, issuedAt: t2, expiresAt: '2030-01-01T00:03:30.000Z', refreshable: true };
    const history = [
      ...started(maintain),
      event(EventType.TimerCreated, T0, { FireAt: fired }, 0),
      ...episode(fired, event(EventType.TimerFired, fired, { TimerId: 0, FireAt: fired })),
      event(EventType.TaskScheduled, fired, { Name: Activities.Refresh }, 1),
      // Delivered to this generation while the activity ran: the race's reauthorize waiter takes it.
      ...episode(t2, event(EventType.EventRaised, t2, { Name: Events.Reauthorize, Input: JSON.stringify(reauth) })),
      ...episode(t2, event(EventType.TaskCompleted, t2, { TaskScheduledId: 1, Result: JSON.stringify(refreshed) })),
    ];
    const state = await replay(connectionOrchestrator, maintain, history);
    expect(state.isDone).toBe(true);
    expect(state.actions[0].at(-1)).toEqual({ actionType: ActionType.ContinueAsNew, input: { ...REF, phase: 'authorize', ...reauth } });
  });
});

describe('webhook delivery orchestration replayed by the durable-functions SDK', () => {
  const payload = { ...REF, type: 'connection.connected' as const, eventId: 'e-1', occurredAt: T0 };

  it('schedules the delivery of the event alone (the retry schedule stays in the orchestration)', async () => {
    const state = await replay(webhookDeliveryOrchestrator, { ...payload, retry: { firstIntervalSeconds: 5, maxIntervalSeconds: 60, retryForSeconds: 600 } }, started(payload));
    expect(state.actions).toEqual([[{ actionType: ActionType.CallActivity, functionName: Activities.DeliverWebhook, input: payload }]]);
  });

  it('when the first attempt failed, then on replay it sets a durable timer 5 s after the failure', async () => {
    const input = { ...payload, retry: { firstIntervalSeconds: 5, maxIntervalSeconds: 60, retryForSeconds: 600 } };
    const failedAt = '2030-01-01T00:00:02.000Z';
    const state = await replay(webhookDeliveryOrchestrator, input, [
      ...started(input),
      event(EventType.TaskScheduled, T0, { Name: Activities.DeliverWebhook }, 0),
      ...episode(failedAt, event(EventType.TaskFailed, failedAt, { TaskScheduledId: 0, Reason: 'ActivityError: UPSTREAM_UNREACHABLE: webhook receiver answered 503', Details: '' })),
    ]);
    expect(state.isDone).toBe(false);
    expect(state.actions).toEqual([
      [
        { actionType: ActionType.CallActivity, functionName: Activities.DeliverWebhook, input: payload },
        { actionType: ActionType.CreateTimer, fireAt: '2030-01-01T00:00:07.000Z', isCanceled: false },
      ],
    ]);
  });
});
