/**
 * One orchestration per connection (instance id = connection id). Pure and deterministic: only
 * `context.df.*`, time from `currentUtcDateTime`. Phases:
 *  - authorize: wait for the callback event, raced against the authorization deadline; exchange.
 *  - device: poll the token endpoint on durable timers (RFC 8628), raced against revoke and the deadline.
 *  - maintain: wait for the refresh time (or a refresh/revoke/reauthorize event), refresh, continueAsNew.
 *    A client credentials connection starts here: its first "refresh" fetches its first token.
 */
import * as df from 'durable-functions';
import { Activities, Events } from '../durable/names';
import { refreshDueAtMs, refreshRetryDelayMs } from '../domain/refresh-policy';
import {
  authorizePhaseInput,
  confirmPhaseInput,
  connectionRef as ref,
  maintainPhaseInput,
  webhookNotification,
  type AuthorizePhaseInput,
  type CallbackEvent,
  type ConfirmPhaseInput,
  type ConnectionOrchestrationInput,
  type ConnectionRef,
  type DevicePhaseInput,
  type DevicePollResult,
  type ExchangeResult,
  type MaintainPhaseInput,
  type MarkOutcomeInput,
  type ReauthorizeEvent,
  type RefreshEvent,
  type RefreshResult,
  type WebhookEventType,
} from '../durable/contract';

type Context = df.OrchestrationContext;
type Gen = Generator<df.Task, unknown, unknown>;

/** Transient exchange failures (provider 5xx, 429, timeouts) are retried before the attempt fails. */
export const EXCHANGE_RETRY = { firstRetryIntervalMs: 1_000, maxAttempts: 4, backoffCoefficient: 2 } as const;
/**
 * Every other activity (refresh, revoke, outcomes, webhooks) is retried too: one transient storage
 * error must not fail the orchestration and stop the connection's refreshes. Activities are
 * idempotent, so a retry after a lost answer is safe.
 */
export const ACTIVITY_RETRY = { firstRetryIntervalMs: 1_000, maxAttempts: 5, backoffCoefficient: 2, maxRetryIntervalMs: 15_000 } as const;
/** After a revocation failed through all its retries, try again this much later. */
export const REVOKE_RETRY_DELAY_MS = 60_000;

export function* connectionOrchestrator(context: Context): Gen {
  const input = context.df.getInput() as ConnectionOrchestrationInput;
  if (input.phase === 'authorize') return yield* authorizePhase(context, input);
  if (input.phase === 'confirm') return yield* confirmPhase(context, input);
  if (input.phase === 'device') return yield* devicePhase(context, input);
  return yield* maintainPhase(context, input);
}

function* authorizePhase(context: Context, input: AuthorizePhaseInput): Gen {
  context.df.setCustomStatus({ status: 'awaiting_callback', authorizationId: input.authorizationId, deadline: input.deadline });

  const callback = context.df.waitForExternalEvent(Events.Callback);
  const revoke = context.df.waitForExternalEvent(Events.Revoke);
  const reauthorize = context.df.waitForExternalEvent(Events.Reauthorize);
  const timeout = context.df.createTimer(new Date(input.deadline));
  const winner = yield context.df.Task.any([callback, revoke, reauthorize, timeout]);
  if (winner !== timeout) timeout.cancel();

  if (winner === timeout) {
    yield* markOutcome(context, input, 'expired');
    return { status: 'expired' };
  }
  if (winner === revoke) return yield* revokeConnection(context, input);
  if (winner === reauthorize) return switchToAttempt(context, input, reauthorize.result as ReauthorizeEvent);

  const event = callback.result as CallbackEvent;
  if (event.authorizationId !== input.authorizationId) {
    // A late callback of an older attempt: keep waiting for the current one.
    context.df.continueAsNew(input);
    return undefined;
  }
  if (event.outcome === 'denied') {
    yield* markOutcome(context, input, 'denied');
    return { status: 'denied' };
  }

  let exchange: ExchangeResult;
  try {
    exchange = (yield context.df.callActivityWithRetry(Activities.Exchange, retryOptions(EXCHANGE_RETRY), {
      ...ref(input),
      authorizationId: input.authorizationId,
    })) as ExchangeResult;
  } catch (error) {
    yield* markOutcome(context, input, 'failed', 'PROVIDER_UNAVAILABLE', errorSummary(error));
    return { status: 'failed' };
  }
  // Requests raised while the exchange ran were taken by the race's losers; continueAsNew would drop them.
  if (revoke.isCompleted) return yield* revokeConnection(context, input);
  // The watchdog re-raises the row's attempt when it read this execution before its start was
  // delivered: that event names this very attempt and must not discard the exchange that completed it.
  if (reauthorize.isCompleted && isNewAttempt(input.authorizationId, reauthorize.result)) return switchToAttempt(context, input, reauthorize.result as ReauthorizeEvent);
  if (exchange.outcome === 'rejected') {
    // The provider refused what this callback carried (a forged verifier, a wrong code): the attempt
    // was released, so the genuine callback can still complete it before the same deadline.
    context.df.continueAsNew(input);
    return undefined;
  }
  if (exchange.outcome === 'merged') return yield* merged(context, input, exchange);
  if (exchange.outcome === 'stale' || exchange.outcome === 'failed') {
    context.df.setCustomStatus({ status: exchange.outcome });
    return { status: exchange.outcome };
  }

  if (exchange.confirmBy) {
    // Session-bound: the credentials are held but not live until the client confirms (or time runs out).
    context.df.continueAsNew(confirmPhaseInput(input, exchange, exchange.confirmBy));
    return undefined;
  }
  return yield* connected(context, input, exchange);
}

/** RFC 8628 §3.5: `slow_down` adds this many seconds to the polling interval, for every later poll. */
export const SLOW_DOWN_STEP_S = 5;

/**
 * Device authorization grant: one poll per execution, after `intervalSeconds` (continueAsNew keeps
 * history short however long the end user takes). A revoke cancels the pending connection.
 */
function* devicePhase(context: Context, input: DevicePhaseInput): Gen {
  context.df.setCustomStatus({ status: 'awaiting_callback', authorizationId: input.authorizationId, deadline: input.deadline });
  const deadlineMs = Date.parse(input.deadline);
  const pollAtMs = Math.min(context.df.currentUtcDateTime.getTime() + input.intervalSeconds * 1000, deadlineMs);

  const revoke = context.df.waitForExternalEvent(Events.Revoke);
  const timer = context.df.createTimer(new Date(pollAtMs));
  const winner = yield context.df.Task.any([revoke, timer]);
  if (winner !== timer) timer.cancel();
  if (winner === revoke) return yield* revokeConnection(context, input);
  if (pollAtMs >= deadlineMs) {
    yield* markOutcome(context, input, 'expired');
    return { status: 'expired' };
  }

  let poll: DevicePollResult;
  try {
    poll = (yield context.df.callActivityWithRetry(Activities.PollDeviceToken, retryOptions(EXCHANGE_RETRY), {
      ...ref(input),
      authorizationId: input.authorizationId,
    })) as DevicePollResult;
  } catch (error) {
    yield* markOutcome(context, input, 'failed', 'PROVIDER_UNAVAILABLE', errorSummary(error));
    return { status: 'failed' };
  }
  if (revoke.isCompleted) return yield* revokeConnection(context, input);

  switch (poll.outcome) {
    case 'pending':
      context.df.continueAsNew(input);
      return undefined;
    case 'slow_down':
      context.df.continueAsNew({ ...input, intervalSeconds: input.intervalSeconds + SLOW_DOWN_STEP_S });
      return undefined;
    case 'denied':
    case 'expired':
      yield* markOutcome(context, input, poll.outcome);
      return { status: poll.outcome };
    case 'connected':
      return yield* connected(context, input, poll);
    default:
      context.df.setCustomStatus({ status: poll.outcome });
      return { status: poll.outcome };
  }
}

/** The connection is live: announce it, then keep it fresh (or stop, when it cannot be refreshed). */
function* connected(context: Context, input: ConnectionRef, exchange: ExchangeResult): Gen {
  if (exchange.webhooks !== false) yield* notify(context, input, 'connection.connected');
  if (!exchange.refreshable || exchange.expiresAt === null) {
    context.df.setCustomStatus({ status: 'connected', credentialsVersion: exchange.credentialsVersion });
    return { status: 'connected' };
  }
  context.df.continueAsNew(maintainInput(input, exchange.credentialsVersion, exchange.issuedAt, exchange.expiresAt, 0, exchange.refreshMarginMs));
  return undefined;
}

function* confirmPhase(context: Context, input: ConfirmPhaseInput): Gen {
  context.df.setCustomStatus({ status: 'awaiting_confirmation', authorizationId: input.authorizationId, deadline: input.deadline });

  const complete = context.df.waitForExternalEvent(Events.Complete);
  const revoke = context.df.waitForExternalEvent(Events.Revoke);
  const reauthorize = context.df.waitForExternalEvent(Events.Reauthorize);
  const timeout = context.df.createTimer(new Date(input.deadline));
  const winner = yield context.df.Task.any([complete, revoke, reauthorize, timeout]);
  if (winner !== timeout) timeout.cancel();

  if (winner === revoke) return yield* revokeConnection(context, input);
  if (winner === reauthorize) return switchToAttempt(context, input, reauthorize.result as ReauthorizeEvent);
  if (winner === timeout) {
    // The activity erases unconfirmed credentials, unless a confirmation (whose event was lost) won.
    const outcome = (yield* markOutcome(context, input, 'expired')) as { status?: string } | undefined;
    if (outcome?.status !== 'connected' && outcome?.status !== 'merged') return { status: 'expired' };
  }
  if (input.exchange.mergeOnConfirm) return yield* settleConfirmedMerge(context, input);
  return yield* connected(context, input, input.exchange);
}

/**
 * `onExistingAccount: "update"` on a session-bound connection: the confirmation may have moved the
 * credentials onto the account's holder. The exchange, asked again, finishes that merge (idempotently:
 * POST …/complete normally did it already) or answers that this connection stands on its own.
 */
function* settleConfirmedMerge(context: Context, input: ConfirmPhaseInput): Gen {
  let settled: ExchangeResult;
  try {
    settled = (yield context.df.callActivityWithRetry(Activities.Exchange, retryOptions(ACTIVITY_RETRY), {
      ...ref(input),
      authorizationId: input.authorizationId,
    })) as ExchangeResult;
  } catch {
    // Storage failed through every retry: the row keeps what the confirmation wrote; settle again later
    // (past the deadline the confirm phase goes straight to its timeout, which finds the row confirmed).
    context.df.continueAsNew(input);
    return undefined;
  }
  if (settled.outcome === 'connected') return yield* connected(context, input, input.exchange);
  if (settled.outcome === 'merged') return yield* merged(context, input, settled);
  context.df.setCustomStatus({ status: settled.outcome });
  return { status: settled.outcome };
}

/**
 * The credentials went onto the connection that already held the account: that one is announced
 * connected (its id, as the redirect names it), and this one ends `merged` with no loop of its own.
 */
function* merged(context: Context, input: ConnectionRef, exchange: ExchangeResult): Gen {
  if (exchange.webhooks !== false && exchange.mergedInto) yield* notify(context, { ...ref(input), connectionId: exchange.mergedInto }, 'connection.connected');
  context.df.setCustomStatus({ status: 'merged' });
  return { status: 'merged' };
}

function* maintainPhase(context: Context, input: MaintainPhaseInput): Gen {
  const dueAt = input.retryAt
    ? new Date(input.retryAt)
    : new Date(refreshDueAtMs(Date.parse(input.issuedAt), Date.parse(input.expiresAt), jitterFraction(context, input), input.refreshMarginMs));
  context.df.setCustomStatus({
    status: 'connected',
    credentialsVersion: input.credentialsVersion,
    nextRefreshAt: dueAt.toISOString(),
    failures: input.failures,
    // Names the attempt it settled, so a reauthorize's sender sees it acknowledged.
    ...(input.settledAttempt ? { authorizationId: input.settledAttempt } : {}),
  });

  const refresh = context.df.waitForExternalEvent(Events.Refresh);
  const revoke = context.df.waitForExternalEvent(Events.Revoke);
  const reauthorize = context.df.waitForExternalEvent(Events.Reauthorize);
  const timer = context.df.createTimer(dueAt);
  const winner = yield context.df.Task.any([refresh, revoke, reauthorize, timer]);
  if (winner !== timer) timer.cancel();

  if (winner === revoke) return yield* revokeConnection(context, input);
  if (winner === reauthorize) {
    if (isNewAttempt(input.settledAttempt, reauthorize.result)) return switchToAttempt(context, input, reauthorize.result as ReauthorizeEvent);
    context.df.continueAsNew({ ...input, cycle: input.cycle + 1 });
    return undefined;
  }
  if (winner === refresh) {
    const event = (refresh.result ?? {}) as RefreshEvent;
    if (typeof event.seenVersion === 'number' && event.seenVersion < input.credentialsVersion) {
      // The requester saw credentials that have been replaced since: nothing to do.
      context.df.continueAsNew({ ...input, cycle: input.cycle + 1 });
      return undefined;
    }
  }

  let result: RefreshResult;
  try {
    result = (yield context.df.callActivityWithRetry(Activities.Refresh, retryOptions(ACTIVITY_RETRY), {
      ...ref(input),
      expectedVersion: input.credentialsVersion,
    })) as RefreshResult;
  } catch {
    // Storage (or the activity's host) failed through every retry: keep the credentials and try
    // again with the refresh backoff, exactly as for a provider's transient failure.
    result = { outcome: 'transient', errorCode: 'STORAGE_UNAVAILABLE' };
  }
  const now = context.df.currentUtcDateTime;

  // Requests raised while the refresh ran were taken by the race's losers; continueAsNew would drop them.
  if (revoke.isCompleted) return yield* revokeConnection(context, input);
  if (reauthorize.isCompleted && isNewAttempt(input.settledAttempt, reauthorize.result)) return switchToAttempt(context, input, reauthorize.result as ReauthorizeEvent);

  switch (result.outcome) {
    case 'reauthorizing':
      // The row already records a newer attempt whose event this execution never saw.
      return switchToAttempt(context, input, { authorizationId: result.authorizationId, deadline: result.deadline });
    case 'refreshed':
      if (result.recovered) yield* notify(context, input, 'connection.recovered');
      if (result.first) yield* notify(context, input, 'connection.connected');
      if (!result.refreshable || result.expiresAt === null) {
        context.df.setCustomStatus({ status: 'connected', credentialsVersion: result.credentialsVersion });
        return { status: 'connected' };
      }
      context.df.continueAsNew(
        maintainInput(input, result.credentialsVersion, result.issuedAt, result.expiresAt, input.cycle + 1, result.refreshMarginMs ?? input.refreshMarginMs),
      );
      return undefined;
    case 'transient': {
      const failures = input.failures + 1;
      if (failures === 1) yield* notify(context, input, 'connection.refresh_failed', result.errorCode);
      const retryAt = new Date(now.getTime() + refreshRetryDelayMs(failures, result.retryAfterSeconds)).toISOString();
      context.df.continueAsNew({ ...input, failures, retryAt, cycle: input.cycle + 1 });
      return undefined;
    }
    case 'reauth_required':
      yield* notify(context, input, 'connection.reauth_required', result.errorCode);
      context.df.setCustomStatus({ status: 'reauth_required' });
      return { status: 'reauth_required' };
    case 'failed':
      yield* notify(context, input, 'connection.refresh_failed', result.errorCode);
      context.df.setCustomStatus({ status: 'failed' });
      return { status: 'failed' };
    case 'gone':
      context.df.setCustomStatus({ status: 'gone' });
      return { status: 'gone' };
  }
}

interface RetryPolicy {
  firstRetryIntervalMs: number;
  maxAttempts: number;
  backoffCoefficient: number;
  maxRetryIntervalMs?: number;
}

function retryOptions(policy: RetryPolicy): df.RetryOptions {
  const options = new df.RetryOptions(policy.firstRetryIntervalMs, policy.maxAttempts);
  options.backoffCoefficient = policy.backoffCoefficient;
  if (policy.maxRetryIntervalMs !== undefined) options.maxRetryIntervalInMilliseconds = policy.maxRetryIntervalMs;
  return options;
}

/** Whether a reauthorize event names another attempt than `current` (none known: every attempt is new). */
function isNewAttempt(current: string | undefined, event: unknown): boolean {
  return current === undefined || (event as ReauthorizeEvent | undefined)?.authorizationId !== current;
}

/** Moves the connection onto a newer authorization attempt (reauthorize), in a fresh execution. */
function switchToAttempt(context: Context, from: ConnectionRef, event: ReauthorizeEvent): undefined {
  context.df.continueAsNew(authorizePhaseInput(from, { authorizationId: event.authorizationId, deadline: event.deadline }));
  return undefined;
}

/** From the phase that settled an attempt (`authorizationId`) or from the loop itself (`settledAttempt`). */
function maintainInput(
  from: ConnectionRef & { authorizationId?: string; settledAttempt?: string },
  credentialsVersion: number,
  issuedAt: string,
  expiresAt: string,
  cycle: number,
  refreshMarginMs: number | undefined,
): MaintainPhaseInput {
  const settledAttempt = from.settledAttempt ?? from.authorizationId;
  return maintainPhaseInput(from, { credentialsVersion, issuedAt, expiresAt, cycle, refreshMarginMs, settledAttempt });
}

function* revokeConnection(context: Context, input: ConnectionRef): Gen {
  for (;;) {
    try {
      yield context.df.callActivityWithRetry(Activities.Revoke, retryOptions(ACTIVITY_RETRY), ref(input));
      break;
    } catch {
      // A revocation is never given up: wait, then try again (the erase is idempotent).
      yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + REVOKE_RETRY_DELAY_MS));
    }
  }
  yield* notify(context, input, 'connection.revoked');
  context.df.setCustomStatus({ status: 'revoked' });
  return { status: 'revoked' };
}

function* markOutcome(
  context: Context,
  input: ConnectionRef & { authorizationId: string },
  status: MarkOutcomeInput['status'],
  errorCode?: string,
  errorMessage?: string,
): Gen {
  const outcome: MarkOutcomeInput = { ...ref(input), authorizationId: input.authorizationId, status, errorCode, errorMessage };
  let result: unknown;
  try {
    result = yield context.df.callActivityWithRetry(Activities.MarkOutcome, retryOptions(ACTIVITY_RETRY), outcome);
  } catch {
    // The row keeps `awaiting_callback` past its deadline; readers and the watchdog treat that as expired.
  }
  context.df.setCustomStatus({ status });
  return result;
}

function* notify(context: Context, input: ConnectionRef, type: WebhookEventType, errorCode?: string): Gen {
  const occurredAt = context.df.currentUtcDateTime.toISOString();
  const event = webhookNotification(
    input,
    type,
    context.df.newGuid(`${input.connectionId}:${type}:${occurredAt}`),
    occurredAt,
    errorCode ? { code: errorCode, message: `refresh failed: ${errorCode}` } : undefined,
  );
  try {
    // Enqueue only: delivery (with its retries) runs in its own orchestration, so a slow receiver
    // never delays this connection's refreshes.
    yield context.df.callActivityWithRetry(Activities.EnqueueWebhook, retryOptions(ACTIVITY_RETRY), event);
  } catch {
    // Losing a notification must not stop the connection's life cycle; the activity logged why.
  }
  return undefined;
}

/** Deterministic jitter in [0, 1) per connection and cycle, replay-safe via newGuid. */
function jitterFraction(context: Context, input: MaintainPhaseInput): number {
  const guid = context.df.newGuid(`${input.connectionId}:jitter:${input.cycle}`);
  return parseInt(guid.replace(/-/g, '').slice(0, 8), 16) / 0x1_0000_0000;
}

/** Durable history keeps exception messages, so only the first line (our own, secret-free) is kept. */
function errorSummary(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 300);
}
