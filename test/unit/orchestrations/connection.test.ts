import { connectionOrchestrator, EXCHANGE_RETRY } from '../../../src/orchestrations/connection';
import type {
  AuthorizePhaseInput,
  ExchangeResult,
  MaintainPhaseInput,
  RefreshResult,
} from '../../../src/durable/contract';
import { Activities, Events } from '../../../src/durable/names';
import { refreshDueAtMs } from '../../../src/domain/refresh-policy';
import { asTask, fakeContext, FakeContext, MarkerTask, win } from './_fake-context';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const REF = { connectionId: 'conn-1', clientId: 'app1', provider: 'acme', protocol: 'oauth2' as const };

const authorizeInput: AuthorizePhaseInput = {
  ...REF,
  phase: 'authorize',
  authorizationId: 'auth-1',
  deadline: '2030-01-01T00:10:00.000Z',
};

const ISSUED_AT = '2030-01-01T00:00:00.000Z';
const EXPIRES_AT = '2030-01-01T01:00:00.000Z';
const maintainInput: MaintainPhaseInput = {
  ...REF,
  phase: 'maintain',
  credentialsVersion: 3,
  issuedAt: ISSUED_AT,
  expiresAt: EXPIRES_AT,
  failures: 0,
  cycle: 5,
};

const connected: ExchangeResult = {
  outcome: 'connected',
  credentialsVersion: 1,
  issuedAt: '2030-01-01T00:02:00.000Z',
  expiresAt: '2030-01-01T01:02:00.000Z',
  refreshable: true,
  scopes: ['read'],
};

interface Run {
  fake: FakeContext;
  gen: Generator<unknown, unknown, unknown>;
  race: MarkerTask;
  events: { primary: MarkerTask; revoke: MarkerTask; reauthorize: MarkerTask; timer: MarkerTask };
}

function start(input: AuthorizePhaseInput | MaintainPhaseInput, guid?: (name: string) => string): Run {
  const fake = fakeContext({ input, now: NOW, guid });
  const gen = connectionOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const race = asTask(gen.next().value);
  expect(race.kind).toBe('any');
  const [primary, revoke, reauthorize, timer] = race.tasks ?? [];
  return { fake, gen, race, events: { primary, revoke, reauthorize, timer } };
}

/** Every history-bound value a run produced: custom statuses, continueAsNew inputs, activity inputs. */
function historyOf(run: Run): unknown[] {
  return [...run.fake.customStatuses, ...run.fake.continuedAsNew, ...run.fake.created.map((t) => t.input).filter((i) => i !== undefined)];
}

function expectActivity(value: unknown, name: string): MarkerTask {
  const task = asTask(value);
  // Every activity is retried, so one transient storage error cannot fail the orchestration.
  expect(task.kind).toBe('activityWithRetry');
  expect(task.name).toBe(name);
  expect(task.retryOptions?.maxNumberOfAttempts).toBeGreaterThan(1);
  return task;
}

describe('connection orchestration, authorize phase', () => {
  it('waits for callback, revoke and reauthorize events raced against a timer at the deadline', () => {
    const run = start(authorizeInput);
    expect(run.race.tasks?.map((t) => [t.kind, t.name])).toEqual([
      ['event', Events.Callback],
      ['event', Events.Revoke],
      ['event', Events.Reauthorize],
      ['timer', undefined],
    ]);
    expect(run.events.timer.fireAt?.toISOString()).toBe(authorizeInput.deadline);
    expect(run.fake.customStatuses).toEqual([{ status: 'awaiting_callback', authorizationId: 'auth-1', deadline: authorizeInput.deadline }]);
  });

  it('when the callback wins, then the timer is cancelled and the exchange runs with retry', () => {
    const run = start(authorizeInput);
    const exchange = asTask(run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' })).value);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(exchange.kind).toBe('activityWithRetry');
    expect(exchange.name).toBe(Activities.Exchange);
    expect(exchange.input).toEqual({ ...REF, authorizationId: 'auth-1' });
    expect(exchange.retryOptions).toMatchObject({
      firstRetryIntervalInMilliseconds: EXCHANGE_RETRY.firstRetryIntervalMs,
      maxNumberOfAttempts: EXCHANGE_RETRY.maxAttempts,
      backoffCoefficient: EXCHANGE_RETRY.backoffCoefficient,
    });
  });

  it('when the exchange connects a refreshable token, then a connected webhook is enqueued and it continues as new in the maintain phase', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const webhook = expectActivity(run.gen.next(connected).value, Activities.EnqueueWebhook);
    expect(webhook.input).toEqual({
      ...REF,
      type: 'connection.connected',
      eventId: '00000000-0000-0000-0000-000000000000',
      occurredAt: NOW.toISOString(),
    });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([
      { ...REF, phase: 'maintain', credentialsVersion: 1, issuedAt: connected.issuedAt, expiresAt: connected.expiresAt, failures: 0, cycle: 0, settledAttempt: 'auth-1' },
    ]);
  });

  it('when the client app has no webhook, then no notification step is scheduled after the exchange', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const end = run.gen.next({ ...connected, webhooks: false });
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.created.some((t) => t.name === Activities.EnqueueWebhook)).toBe(false);
    expect(run.fake.continuedAsNew).toHaveLength(1);
  });

  it('when the exchange connects a token that cannot be refreshed, then the orchestration completes as connected', () => {
    for (const result of [
      { ...connected, refreshable: false },
      { ...connected, expiresAt: null },
    ]) {
      const run = start(authorizeInput);
      run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
      expectActivity(run.gen.next(result).value, Activities.EnqueueWebhook);
      const end = run.gen.next(undefined);
      expect(end).toEqual({ done: true, value: { status: 'connected' } });
      expect(run.fake.continuedAsNew).toEqual([]);
      expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'connected', credentialsVersion: 1 });
    }
  });

  it('when enqueueing the connected webhook fails, then the connection still moves on to maintain', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    run.gen.next(connected);
    const end = run.gen.throw(new Error('queue unavailable'));
    expect(end.done).toBe(true);
    expect(run.fake.continuedAsNew).toHaveLength(1);
  });

  it('when the deadline timer wins, then the attempt is marked expired and the timer is not cancelled', () => {
    const run = start(authorizeInput);
    const mark = expectActivity(run.gen.next(win(run.events.timer)).value, Activities.MarkOutcome);
    expect(run.events.timer.cancel).not.toHaveBeenCalled();
    expect(mark.input).toEqual({ ...REF, authorizationId: 'auth-1', status: 'expired', errorCode: undefined, errorMessage: undefined });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: { status: 'expired' } });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'expired' });
  });

  it('when the user denies, then the attempt is marked denied', () => {
    const run = start(authorizeInput);
    const mark = expectActivity(run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'denied' })).value, Activities.MarkOutcome);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(mark.input).toMatchObject({ ...REF, authorizationId: 'auth-1', status: 'denied' });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: { status: 'denied' } });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'denied' });
  });

  it('when a callback of an older attempt arrives, then it continues as new with the same input and runs nothing', () => {
    const run = start(authorizeInput);
    const end = run.gen.next(win(run.events.primary, { authorizationId: 'auth-0', outcome: 'code' }));
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([authorizeInput]);
    expect(run.fake.created.filter((t) => t.kind === 'activity' || t.kind === 'activityWithRetry')).toEqual([]);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
  });

  it('when revoked while waiting, then it revokes, enqueues a revoked webhook and completes as revoked', () => {
    const run = start(authorizeInput);
    const revoke = expectActivity(run.gen.next(win(run.events.revoke, {})).value, Activities.Revoke);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(revoke.input).toEqual(REF);
    const webhook = expectActivity(run.gen.next(undefined).value, Activities.EnqueueWebhook);
    expect(webhook.input).toMatchObject({ type: 'connection.revoked' });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: { status: 'revoked' } });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'revoked' });
  });

  it('when a reauthorize event arrives, then it continues as new with the new attempt and deadline', () => {
    const run = start(authorizeInput);
    const event = { authorizationId: 'auth-2', deadline: '2030-01-01T00:20:00.000Z' };
    const end = run.gen.next(win(run.events.reauthorize, event));
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(run.fake.continuedAsNew).toEqual([{ ...REF, phase: 'authorize', authorizationId: 'auth-2', deadline: event.deadline }]);
  });

  it('when the exchange throws after its retries, then the attempt is marked failed with the first line of the error only', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const error = new Error("Activity function 'exchangeCredentials' failed: provider unavailable (503) \n at stack line");
    const mark = expectActivity(run.gen.throw(error).value, Activities.MarkOutcome);
    expect(mark.input).toEqual({
      ...REF,
      authorizationId: 'auth-1',
      status: 'failed',
      errorCode: 'PROVIDER_UNAVAILABLE',
      errorMessage: "Activity function 'exchangeCredentials' failed: provider unavailable (503) ",
    });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: { status: 'failed' } });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'failed' });
  });

  it.each(['failed', 'stale'] as const)('when the exchange answers %s, then it completes without a webhook', (outcome) => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const end = run.gen.next({ ...connected, outcome });
    expect(end).toEqual({ done: true, value: { status: outcome } });
    expect(run.fake.created.some((t) => t.name === Activities.EnqueueWebhook)).toBe(false);
  });

  it('when the exchange merged the credentials into the account\'s holder, then the holder is announced connected and this one completes merged', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const webhook = expectActivity(run.gen.next({ ...connected, outcome: 'merged', mergedInto: 'conn-0', webhooks: true }).value, Activities.EnqueueWebhook);
    expect(webhook.input).toEqual(expect.objectContaining({ ...REF, connectionId: 'conn-0', type: 'connection.connected' }));
    expect(run.fake.guidNames.some((name) => name.startsWith('conn-0:connection.connected:'))).toBe(true);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'merged' } });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'merged' });
    expect(run.fake.continuedAsNew).toEqual([]);
  });

  it('when the exchange merged the credentials and the client app has no webhook, then it completes merged without a notification step', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    expect(run.gen.next({ ...connected, outcome: 'merged', mergedInto: 'conn-0', webhooks: false })).toEqual({ done: true, value: { status: 'merged' } });
    expect(run.fake.created.some((t) => t.name === Activities.EnqueueWebhook)).toBe(false);
  });
});

describe('connection orchestration, maintain phase', () => {
  const guidFor = (hex8: string) => (name: string) => (name.includes(':jitter:') ? `${hex8}-0000-4000-8000-000000000000` : '11111111-2222-4333-8444-555555555555');

  it('waits for refresh, revoke and reauthorize events raced against a timer at the jittered due time', () => {
    const run = start(maintainInput, guidFor('80000000'));
    expect(run.race.tasks?.map((t) => [t.kind, t.name])).toEqual([
      ['event', Events.Refresh],
      ['event', Events.Revoke],
      ['event', Events.Reauthorize],
      ['timer', undefined],
    ]);
    expect(run.fake.guidNames).toContain('conn-1:jitter:5');
    const expiresMs = Date.parse(EXPIRES_AT);
    const expected = refreshDueAtMs(Date.parse(ISSUED_AT), expiresMs, 0.5);
    expect(run.events.timer.fireAt?.getTime()).toBe(expected);
    expect(expected).toBe(expiresMs - 60_000 + 3_000);
    expect(run.fake.customStatuses).toEqual([
      { status: 'connected', credentialsVersion: 3, nextRefreshAt: new Date(expected).toISOString(), failures: 0 },
    ]);
  });

  it.each(['00000000', '3fffffff', 'ffffffff'])('with jitter guid %s, the timer fires within [due, due + 10 %% of the margin]', (hex8) => {
    const run = start(maintainInput, guidFor(hex8));
    const expiresMs = Date.parse(EXPIRES_AT);
    const dueMs = expiresMs - 60_000;
    const fireAt = run.events.timer.fireAt?.getTime() ?? Number.NaN;
    expect(fireAt).toBeGreaterThanOrEqual(dueMs);
    expect(fireAt).toBeLessThanOrEqual(dueMs + 6_000);
    expect(fireAt).toBe(refreshDueAtMs(Date.parse(ISSUED_AT), expiresMs, parseInt(hex8, 16) / 0x1_0000_0000));
  });

  it('when the timer fires, then it refreshes with the version it holds and the timer is not cancelled', () => {
    const run = start(maintainInput);
    const refresh = expectActivity(run.gen.next(win(run.events.timer)).value, Activities.Refresh);
    expect(refresh.input).toEqual({ ...REF, expectedVersion: 3 });
    expect(run.events.timer.cancel).not.toHaveBeenCalled();
  });

  it('when refreshed, then it continues as new with the new version, a new cycle and no failures', () => {
    const run = start({ ...maintainInput, failures: 2, retryAt: '2030-01-01T00:00:20.000Z' });
    run.gen.next(win(run.events.timer));
    const result: RefreshResult = {
      outcome: 'refreshed',
      credentialsVersion: 4,
      issuedAt: '2030-01-01T00:59:00.000Z',
      expiresAt: '2030-01-01T01:59:00.000Z',
      refreshable: true,
    };
    const end = run.gen.next(result);
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([
      { ...REF, phase: 'maintain', credentialsVersion: 4, issuedAt: result.issuedAt, expiresAt: result.expiresAt, failures: 0, cycle: 6 },
    ]);
  });

  it('when refreshed into a token that no longer expires, then it completes as connected', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    const end = run.gen.next({ outcome: 'refreshed', credentialsVersion: 4, issuedAt: ISSUED_AT, expiresAt: null, refreshable: false });
    expect(end).toEqual({ done: true, value: { status: 'connected' } });
    expect(run.fake.continuedAsNew).toEqual([]);
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'connected', credentialsVersion: 4 });
  });

  it('when a refresh event names an older version than it holds, then it skips the refresh and continues as new', () => {
    const run = start(maintainInput);
    const end = run.gen.next(win(run.events.primary, { seenVersion: 2 }));
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(run.fake.continuedAsNew).toEqual([{ ...maintainInput, cycle: 6 }]);
    expect(run.fake.created.some((t) => t.kind === 'activity' || t.kind === 'activityWithRetry')).toBe(false);
  });

  it.each([
    ['names the current version', { seenVersion: 3 }],
    ['is forced without a version', { force: true }],
    ['has no payload', undefined],
  ])('when a refresh event %s, then it refreshes now', (_label, payload) => {
    const run = start(maintainInput);
    const refresh = expectActivity(run.gen.next(win(run.events.primary, payload)).value, Activities.Refresh);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(refresh.input).toEqual({ ...REF, expectedVersion: 3 });
  });

  it('on the first transient failure, then a refresh_failed webhook is enqueued and it retries after 5 s', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    const webhook = expectActivity(run.gen.next({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE' }).value, Activities.EnqueueWebhook);
    expect(webhook.input).toEqual({
      ...REF,
      type: 'connection.refresh_failed',
      eventId: '00000000-0000-0000-0000-000000000000',
      occurredAt: NOW.toISOString(),
      error: { code: 'PROVIDER_UNAVAILABLE', message: 'refresh failed: PROVIDER_UNAVAILABLE' },
    });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...maintainInput, failures: 1, retryAt: '2030-01-01T00:00:05.000Z', cycle: 6 }]);
  });

  it('on a later transient failure, then no webhook is sent and the backoff doubles', () => {
    const run = start({ ...maintainInput, failures: 1, retryAt: '2030-01-01T00:00:00.000Z' });
    run.gen.next(win(run.events.timer));
    const end = run.gen.next({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE' });
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.created.some((t) => t.name === Activities.EnqueueWebhook)).toBe(false);
    expect(run.fake.continuedAsNew).toEqual([{ ...maintainInput, failures: 2, retryAt: '2030-01-01T00:00:10.000Z', cycle: 6 }]);
  });

  it('when the provider asks for a Retry-After longer than the backoff, then the retry waits that long', () => {
    const run = start({ ...maintainInput, failures: 1 });
    run.gen.next(win(run.events.timer));
    run.gen.next({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE', retryAfterSeconds: 120 });
    expect(run.fake.continuedAsNew).toEqual([expect.objectContaining({ retryAt: '2030-01-01T00:02:00.000Z' })]);
  });

  it('when a retry is scheduled, then the timer fires at retryAt, not at the jittered due time', () => {
    const run = start({ ...maintainInput, failures: 1, retryAt: '2030-01-01T00:00:05.000Z' });
    expect(run.events.timer.fireAt?.toISOString()).toBe('2030-01-01T00:00:05.000Z');
    expect(run.fake.customStatuses[0]).toEqual({ status: 'connected', credentialsVersion: 3, nextRefreshAt: '2030-01-01T00:00:05.000Z', failures: 1 });
  });

  it('when the refresh needs reauthorization, then a reauth_required webhook is enqueued and the orchestration ends', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    const webhook = expectActivity(run.gen.next({ outcome: 'reauth_required', errorCode: 'OAUTH_INVALID_GRANT' }).value, Activities.EnqueueWebhook);
    expect(webhook.input).toMatchObject({ type: 'connection.reauth_required', error: { code: 'OAUTH_INVALID_GRANT' } });
    const end = run.gen.next(undefined);
    expect(end).toEqual({ done: true, value: { status: 'reauth_required' } });
    expect(run.fake.continuedAsNew).toEqual([]);
  });

  it('when the refresh fails terminally, then a refresh_failed webhook is enqueued and the orchestration ends', () => {
    const run = start({ ...maintainInput, failures: 3 });
    run.gen.next(win(run.events.timer));
    const webhook = expectActivity(run.gen.next({ outcome: 'failed', errorCode: 'OAUTH_INVALID_CLIENT' }).value, Activities.EnqueueWebhook);
    expect(webhook.input).toMatchObject({ type: 'connection.refresh_failed' });
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'failed' } });
  });

  it('when a refresh succeeds after failed ones, then a recovered webhook is enqueued before the loop goes on', () => {
    const run = start({ ...maintainInput, failures: 2 });
    run.gen.next(win(run.events.timer));
    const refreshed = { outcome: 'refreshed', credentialsVersion: 4, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT, refreshable: true, recovered: true };
    const webhook = expectActivity(run.gen.next(refreshed).value, Activities.EnqueueWebhook);
    expect(webhook.input).toMatchObject({ ...REF, type: 'connection.recovered' });
    expect(run.gen.next(undefined)).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([expect.objectContaining({ credentialsVersion: 4, failures: 0 })]);
  });

  it('when the first token of a client credentials connection is stored, then a connected webhook is enqueued before the loop goes on', () => {
    const run = start({ ...maintainInput, credentialsVersion: 0, retryAt: ISSUED_AT });
    run.gen.next(win(run.events.timer));
    const refreshed = { outcome: 'refreshed', credentialsVersion: 1, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT, refreshable: true, first: true };
    const webhook = expectActivity(run.gen.next(refreshed).value, Activities.EnqueueWebhook);
    expect(webhook.input).toMatchObject({ ...REF, type: 'connection.connected' });
    expect(run.gen.next(undefined)).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([expect.objectContaining({ phase: 'maintain', credentialsVersion: 1, failures: 0 })]);
  });

  it('when the connection is gone, then the orchestration ends quietly', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    expect(run.gen.next({ outcome: 'gone' })).toEqual({ done: true, value: { status: 'gone' } });
    expect(run.fake.created.some((t) => t.name === Activities.EnqueueWebhook)).toBe(false);
  });

  it('when revoked, then it cancels the timer, revokes and completes as revoked', () => {
    const run = start(maintainInput);
    const revoke = expectActivity(run.gen.next(win(run.events.revoke, {})).value, Activities.Revoke);
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(revoke.input).toEqual(REF);
    expectActivity(run.gen.next(undefined).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'revoked' } });
  });

  // A late copy of the reauthorize the loop's credentials came from (its sender re-raises until it
  // sees the attempt acknowledged; a delayed backend delivers it late): the loop stays.
  it('when a reauthorize event names the attempt its credentials came from, then it stays in the maintain phase', () => {
    const settled = { ...maintainInput, settledAttempt: 'auth-1' };
    const run = start(settled);
    expect(run.fake.customStatuses.at(-1)).toMatchObject({ status: 'connected', authorizationId: 'auth-1' });
    expect(run.gen.next(win(run.events.reauthorize, { authorizationId: 'auth-1', deadline: '2030-01-01T00:10:00.000Z' }))).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...settled, cycle: settled.cycle + 1 }]);
  });

  it('when a late reauthorize copy is taken during a refresh, then the refreshed credentials continue in the maintain phase', () => {
    const settled = { ...maintainInput, settledAttempt: 'auth-1' };
    const run = start(settled);
    run.gen.next(win(run.events.timer));
    win(run.events.reauthorize, { authorizationId: 'auth-1', deadline: '2030-01-01T00:10:00.000Z' });
    run.gen.next({ outcome: 'refreshed', credentialsVersion: 4, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT, refreshable: true });
    expect(run.fake.continuedAsNew).toEqual([expect.objectContaining({ phase: 'maintain', credentialsVersion: 4, settledAttempt: 'auth-1' })]);
  });

  it('when a reauthorize event arrives, then it continues as new in the authorize phase', () => {
    const run = start(maintainInput);
    const event = { authorizationId: 'auth-9', deadline: '2030-01-01T00:10:00.000Z' };
    expect(run.gen.next(win(run.events.reauthorize, event))).toEqual({ done: true, value: undefined });
    expect(run.events.timer.cancel).toHaveBeenCalledTimes(1);
    expect(run.fake.continuedAsNew).toEqual([{ ...REF, phase: 'authorize', ...event }]);
  });
});

describe('connection orchestration: requests that arrive while an activity runs are not lost', () => {
  const reauth = { authorizationId: 'auth-9', deadline: '2030-01-01T00:10:00.000Z' };

  it('when a reauthorize event arrives during a refresh, then after the refresh it moves to the new attempt', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    win(run.events.reauthorize, reauth); // taken by the race's loser while the activity ran
    const end = run.gen.next({ outcome: 'refreshed', credentialsVersion: 4, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT, refreshable: true });
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...REF, phase: 'authorize', ...reauth }]);
  });

  it('when a revoke event arrives during a refresh, then it revokes right after the refresh', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    win(run.events.revoke, {});
    expectActivity(run.gen.next({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE' }).value, Activities.Revoke);
    expectActivity(run.gen.next(undefined).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'revoked' } });
    expect(run.fake.continuedAsNew).toEqual([]);
  });

  it('when the refresh finds a newer attempt recorded in the row, then it moves to that attempt', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    expect(run.gen.next({ outcome: 'reauthorizing', ...reauth })).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...REF, phase: 'authorize', ...reauth }]);
  });

  it('when a revoke event arrives during the exchange, then the new credentials are revoked at once', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    win(run.events.revoke, {});
    expectActivity(run.gen.next(connected).value, Activities.Revoke);
    expectActivity(run.gen.next(undefined).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'revoked' } });
  });

  it('when a reauthorize event arrives during the exchange, then it moves to the new attempt', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    win(run.events.reauthorize, reauth);
    expect(run.gen.next(connected)).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...REF, phase: 'authorize', ...reauth }]);
  });

  // The watchdog re-raises the row's attempt when it reads the instance before its start was delivered.
  it('when a reauthorize event for the attempt it runs arrives during the exchange, then the exchange still connects', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    win(run.events.reauthorize, { authorizationId: authorizeInput.authorizationId, deadline: authorizeInput.deadline });
    expectActivity(run.gen.next(connected).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([
      { ...REF, phase: 'maintain', credentialsVersion: 1, issuedAt: connected.issuedAt, expiresAt: connected.expiresAt, failures: 0, cycle: 0, settledAttempt: 'auth-1' },
    ]);
  });
});

describe('connection orchestration: a rejected callback does not end the attempt', () => {
  it('when the provider rejects what the callback carried, then it keeps waiting for the same attempt and deadline', () => {
    const run = start(authorizeInput);
    run.gen.next(win(run.events.primary, { authorizationId: 'auth-1', outcome: 'code' }));
    const end = run.gen.next({ ...connected, outcome: 'rejected' });
    expect(end).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([authorizeInput]);
    expect(run.fake.created.some((t) => t.name === Activities.MarkOutcome)).toBe(false);
  });
});

describe('connection orchestration: activity failures never stop the connection', () => {
  it('when the refresh activity fails through all its retries, then it is treated as transient and retried with backoff', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.timer));
    // The first transient failure enqueues the refresh_failed webhook.
    expectActivity(run.gen.throw(new Error("Activity function 'refreshCredentials' failed: storage unavailable")).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: undefined });
    expect(run.fake.continuedAsNew).toEqual([{ ...maintainInput, failures: 1, retryAt: '2030-01-01T00:00:05.000Z', cycle: 6 }]);
  });

  it('when the revoke activity fails through all its retries, then it waits and revokes again', () => {
    const run = start(maintainInput);
    run.gen.next(win(run.events.revoke, {}));
    const timer = asTask(run.gen.throw(new Error("Activity function 'revokeConnection' failed: storage unavailable")).value);
    expect(timer.kind).toBe('timer');
    expect(timer.fireAt?.toISOString()).toBe('2030-01-01T00:01:00.000Z');
    expectActivity(run.gen.next(undefined).value, Activities.Revoke);
    expectActivity(run.gen.next(undefined).value, Activities.EnqueueWebhook);
    expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'revoked' } });
  });

  it('when marking the outcome fails through all its retries, then the orchestration still ends with that status', () => {
    const run = start(authorizeInput);
    expectActivity(run.gen.next(win(run.events.timer)).value, Activities.MarkOutcome);
    expect(run.gen.throw(new Error("Activity function 'markConnectionOutcome' failed: storage unavailable"))).toEqual({
      done: true,
      value: { status: 'expired' },
    });
    expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'expired' });
  });
});

describe('durable history of the connection orchestration', () => {
  const SECRET = 'secret-looking-value-0123456789';

  it('when event payloads carry extra (secret-looking) fields, then none of them reaches history', () => {
    const callbackRun = start(authorizeInput);
    callbackRun.gen.next(win(callbackRun.events.primary, { authorizationId: 'auth-1', outcome: 'code', code: SECRET, state: SECRET }));
    callbackRun.gen.next(connected);
    callbackRun.gen.next(undefined);

    const reauthRun = start(maintainInput);
    reauthRun.gen.next(win(reauthRun.events.reauthorize, { authorizationId: 'auth-2', deadline: authorizeInput.deadline, state: SECRET }));

    const refreshRun = start(maintainInput);
    refreshRun.gen.next(win(refreshRun.events.primary, { seenVersion: 1, accessToken: SECRET }));

    const everything = JSON.stringify([callbackRun, reauthRun, refreshRun].map(historyOf));
    expect(everything).not.toContain(SECRET);
  });

  it('custom statuses, continueAsNew inputs and activity inputs of every path hold only known, non-secret keys', () => {
    const callback = { authorizationId: 'auth-1', outcome: 'code' };
    const paths: Array<[AuthorizePhaseInput | MaintainPhaseInput, (run: Run) => void]> = [
      [authorizeInput, (r) => { r.gen.next(win(r.events.primary, callback)); r.gen.next(connected); r.gen.next(undefined); }],
      [authorizeInput, (r) => { r.gen.next(win(r.events.timer)); r.gen.next(undefined); }],
      [authorizeInput, (r) => { r.gen.next(win(r.events.primary, { ...callback, outcome: 'denied' })); r.gen.next(undefined); }],
      [authorizeInput, (r) => { r.gen.next(win(r.events.primary, callback)); r.gen.throw(new Error('boom')); r.gen.next(undefined); }],
      [authorizeInput, (r) => { r.gen.next(win(r.events.revoke, {})); r.gen.next(undefined); r.gen.next(undefined); }],
      [maintainInput, (r) => { r.gen.next(win(r.events.timer)); r.gen.next({ outcome: 'refreshed', credentialsVersion: 4, issuedAt: ISSUED_AT, expiresAt: EXPIRES_AT, refreshable: true }); }],
      [maintainInput, (r) => { r.gen.next(win(r.events.timer)); r.gen.next({ outcome: 'transient', errorCode: 'PROVIDER_TIMEOUT' }); r.gen.next(undefined); }],
      [maintainInput, (r) => { r.gen.next(win(r.events.timer)); r.gen.next({ outcome: 'reauth_required', errorCode: 'OAUTH_INVALID_GRANT' }); r.gen.next(undefined); }],
      [maintainInput, (r) => { r.gen.next(win(r.events.primary, { seenVersion: 1 })); }],
    ];
    const values: unknown[] = [];
    for (const [input, drive] of paths) {
      const run = start(input);
      drive(run);
      values.push(...historyOf(run));
    }
    const allowed = new Set([
      'connectionId', 'clientId', 'provider', 'protocol', 'phase', 'authorizationId', 'deadline',
      'credentialsVersion', 'issuedAt', 'expiresAt', 'failures', 'retryAt', 'cycle', 'settledAttempt',
      'status', 'nextRefreshAt', 'expectedVersion', 'type', 'eventId', 'occurredAt', 'error', 'code', 'message',
      'errorCode', 'errorMessage',
    ]);
    const keys = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        for (const [key, inner] of Object.entries(value)) {
          keys.add(key);
          collect(inner);
        }
      }
    };
    collect(values);
    expect([...keys].filter((k) => !allowed.has(k))).toEqual([]);
    expect([...keys].filter((k) => /token|secret|verifier|password|key/i.test(k))).toEqual([]);
  });
});
