/**
 * The durable contract: inputs, outputs and event payloads of the broker's orchestrations, and the
 * factories that build them (services and orchestrations never assemble them by hand). Everything
 * here is persisted in durable history in plain text, so it holds ids, statuses and times only:
 * never a secret.
 */
import type { Protocol } from '../domain/connection';
import type { WebhookRetrySchedule } from '../domain/webhook-retry';
import { Events } from './names';

export interface ConnectionRef {
  connectionId: string;
  clientId: string;
  provider: string;
  protocol: Protocol;
}

/** Waiting for the provider's callback of one authorization attempt. */
export interface AuthorizePhaseInput extends ConnectionRef {
  phase: 'authorize';
  /** Hash reference of the attempt's pending row. */
  authorizationId: string;
  /** ISO time after which the attempt expires. */
  deadline: string;
}

/** Keeping a refreshable OAuth 2.0 connection fresh. One refresh cycle per execution (continueAsNew). */
export interface MaintainPhaseInput extends ConnectionRef {
  phase: 'maintain';
  credentialsVersion: number;
  issuedAt: string;
  expiresAt: string;
  /** Consecutive transient refresh failures. */
  failures: number;
  /** Set after a transient failure: when to try again. */
  retryAt?: string;
  cycle: number;
  /** BROKER_REFRESH_MARGIN_SECONDS in ms as the activities read it (absent: the 60 s default). */
  refreshMarginMs?: number;
  /**
   * The authorization attempt whose exchange produced these credentials. A reauthorize naming it is
   * a late copy of one already honoured (re-raised until acknowledged, or delivered late), not a
   * new request, and must not send the loop back to the authorize phase.
   */
  settledAttempt?: string;
}

/** A session-bound connection holds credentials and waits for the client's POST …/complete. */
export interface ConfirmPhaseInput extends ConnectionRef {
  phase: 'confirm';
  authorizationId: string;
  /** ISO time after which an unconfirmed connection expires and its credentials are erased. */
  deadline: string;
  /** The exchange this confirmation releases (references and times only). */
  exchange: ExchangeResult;
}

/**
 * Device authorization grant (RFC 8628): polling the token endpoint on durable timers until the end
 * user approves or denies the user code, or the attempt's deadline passes. The device code itself is
 * sealed in the attempt's pending row.
 */
export interface DevicePhaseInput extends ConnectionRef {
  phase: 'device';
  authorizationId: string;
  deadline: string;
  /** Seconds to wait before the next poll (grows by 5 s with each `slow_down`). */
  intervalSeconds: number;
}

export type ConnectionOrchestrationInput = AuthorizePhaseInput | MaintainPhaseInput | ConfirmPhaseInput | DevicePhaseInput;

/** One poll of a device authorization: a grant state, or the outcome of an exchange that got tokens. */
export type DevicePollResult = ExchangeResult | { outcome: 'pending' | 'slow_down' | 'denied' | 'expired' };

export interface CallbackEvent {
  authorizationId: string;
  outcome: 'code' | 'denied';
}

/** `seenVersion`: the credentials version the requester saw; an already newer version needs no refresh. */
export interface RefreshEvent {
  seenVersion?: number;
}

export interface ReauthorizeEvent {
  authorizationId: string;
  deadline: string;
}

/** Revocation needs no payload: the orchestration knows its connection. */
export type RevokeEvent = Record<string, never>;

/** Each external event of the connection orchestration with its payload type. */
export interface ConnectionEvents {
  [Events.Callback]: CallbackEvent;
  [Events.Refresh]: RefreshEvent;
  [Events.Revoke]: RevokeEvent;
  [Events.Reauthorize]: ReauthorizeEvent;
  [Events.Complete]: CompleteEvent;
}

/** No payload: the row already records the confirmation. */
export type CompleteEvent = Record<string, never>;
export type ConnectionEventName = keyof ConnectionEvents;

export interface ExchangeResult {
  /** `rejected`: the provider refused what the callback carried; the attempt was released and still waits. */
  /** `merged`: the credentials went onto the connection `mergedInto` (onExistingAccount "update"). */
  outcome: 'connected' | 'failed' | 'stale' | 'rejected' | 'merged';
  /** The connection id that holds the account now, for outcome `merged`. */
  mergedInto?: string;
  credentialsVersion: number;
  issuedAt: string;
  /** null when the token does not expire. */
  expiresAt: string | null;
  refreshable: boolean;
  scopes: string[];
  /** Whether the client app has a webhook: without one, no notification step is scheduled. */
  webhooks?: boolean;
  /** The refresh margin setting, carried into the maintain phase (orchestrations read no settings). */
  refreshMarginMs?: number;
  /** Session-bound connections: connected only once the client confirms, by this ISO time. */
  confirmBy?: string;
  /**
   * Session-bound with `onExistingAccount: "update"`: the confirmation may move the credentials onto
   * the account's holder, so the confirm phase asks the exchange again (which finishes that merge)
   * before the connection goes live.
   */
  mergeOnConfirm?: true;
}

export type RefreshResult =
  | {
      outcome: 'refreshed';
      credentialsVersion: number;
      issuedAt: string;
      expiresAt: string | null;
      refreshable: boolean;
      refreshMarginMs?: number;
      /** This success ended a run of failed refreshes (the `connection.recovered` webhook). */
      recovered?: true;
      /** The connection's first credentials (client credentials): the `connection.connected` webhook. */
      first?: true;
    }
  | { outcome: 'transient'; retryAfterSeconds?: number; errorCode: string }
  /** The row records a newer authorization attempt (reauthorize) whose event this execution missed. */
  | { outcome: 'reauthorizing'; authorizationId: string; deadline: string }
  | { outcome: 'reauth_required' | 'failed' | 'gone'; errorCode?: string };

export interface MarkOutcomeInput extends ConnectionRef {
  authorizationId: string;
  /** `expired` also ends a session-bound connection nobody confirmed (its credentials are erased). */
  status: 'expired' | 'denied' | 'failed';
  errorCode?: string;
  errorMessage?: string;
}

export type WebhookEventType =
  | 'connection.connected'
  | 'connection.refresh_failed'
  | 'connection.reauth_required'
  | 'connection.recovered'
  | 'connection.revoked';

export interface NotifyWebhookInput extends ConnectionRef {
  type: WebhookEventType;
  /** Deterministic id (from context.df.newGuid) so receivers can dedupe retried deliveries. */
  eventId: string;
  occurredAt: string;
  error?: { code: string; message: string };
}

/** A delivery orchestration's input: the event and the retry schedule in force when it was enqueued. */
export interface WebhookDeliveryInput extends NotifyWebhookInput {
  /** Absent in deliveries enqueued before schedules were configurable: the default applies. */
  retry?: WebhookRetrySchedule;
}

/** The dead letter of an event whose every attempt failed (no payload: the activity rebuilds it). */
export interface RecordFailedWebhookInput {
  event: NotifyWebhookInput;
  attempts: number;
  firstAttemptAt: string;
  /** The last attempt's redacted failure line. */
  lastError: string;
}

/** The identifying part of any input, copied field by field so nothing else rides along into history. */
export function connectionRef(from: ConnectionRef): ConnectionRef {
  return { connectionId: from.connectionId, clientId: from.clientId, provider: from.provider, protocol: from.protocol };
}

/** The authorize phase of one attempt (also what a reauthorization continues as). */
export function authorizePhaseInput(from: ConnectionRef, attempt: { authorizationId: string; deadline: string }): AuthorizePhaseInput {
  return { ...connectionRef(from), phase: 'authorize', authorizationId: attempt.authorizationId, deadline: attempt.deadline };
}

export function devicePhaseInput(from: ConnectionRef, attempt: { authorizationId: string; deadline: string; intervalSeconds: number }): DevicePhaseInput {
  return { ...connectionRef(from), phase: 'device', authorizationId: attempt.authorizationId, deadline: attempt.deadline, intervalSeconds: attempt.intervalSeconds };
}

export interface MaintainState {
  credentialsVersion: number;
  issuedAt: string;
  expiresAt: string;
  cycle: number;
  refreshMarginMs?: number;
  failures?: number;
  retryAt?: string;
  settledAttempt?: string;
}

export function maintainPhaseInput(from: ConnectionRef, state: MaintainState): MaintainPhaseInput {
  const { failures = 0, retryAt, refreshMarginMs, settledAttempt, ...rest } = state;
  return {
    ...connectionRef(from),
    phase: 'maintain',
    ...rest,
    failures,
    ...(retryAt !== undefined ? { retryAt } : {}),
    ...(refreshMarginMs !== undefined ? { refreshMarginMs } : {}),
    ...(settledAttempt !== undefined ? { settledAttempt } : {}),
  };
}

export function confirmPhaseInput(from: AuthorizePhaseInput, exchange: ExchangeResult, deadline: string): ConfirmPhaseInput {
  return { ...connectionRef(from), phase: 'confirm', authorizationId: from.authorizationId, deadline, exchange };
}

/** The maintain phase restarted from a stored row (the orchestration is gone): refresh at once. */
export function restartedMaintainPhase(
  from: ConnectionRef & { credentialsVersion: number; expiresAt: string | null; authorizationId?: string },
  issuedAt: string,
  now: Date,
): MaintainPhaseInput {
  const nowIso = now.toISOString();
  return maintainPhaseInput(from, {
    credentialsVersion: from.credentialsVersion,
    issuedAt,
    expiresAt: from.expiresAt ?? nowIso,
    cycle: 0,
    retryAt: nowIso,
    // A connected row's attempt is the one its credentials came from.
    settledAttempt: from.authorizationId,
  });
}

export function webhookNotification(
  from: ConnectionRef,
  type: WebhookEventType,
  eventId: string,
  occurredAt: string,
  error?: NotifyWebhookInput['error'],
): NotifyWebhookInput {
  return { ...connectionRef(from), type, eventId, occurredAt, ...(error ? { error } : {}) };
}

/** One delivery orchestration per event: the id makes a second start of the same event a no-op. */
export function webhookInstanceId(event: NotifyWebhookInput): string {
  return `webhook-${event.eventId}`;
}

/** The event alone, field by field, as the delivery activity and the dead letter take it. */
export function notifyWebhookInput(from: NotifyWebhookInput): NotifyWebhookInput {
  return webhookNotification(from, from.type, from.eventId, from.occurredAt, from.error);
}
