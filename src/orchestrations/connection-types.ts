/**
 * Inputs, outputs and event payloads of the connection orchestration. Everything here is persisted in
 * durable history in plain text, so it holds ids, statuses and times only: never a secret.
 */
import type { Protocol } from '../domain/connection';

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
}

export type ConnectionOrchestrationInput = AuthorizePhaseInput | MaintainPhaseInput;

export interface CallbackEvent {
  authorizationId: string;
  outcome: 'code' | 'denied';
}

/** `seenVersion`: the credentials version the requester saw; an already newer version needs no refresh. */
export interface RefreshEvent {
  seenVersion?: number;
  force?: boolean;
}

export interface ReauthorizeEvent {
  authorizationId: string;
  deadline: string;
}

export interface ExchangeResult {
  /** `rejected`: the provider refused what the callback carried; the attempt was released and still waits. */
  outcome: 'connected' | 'failed' | 'stale' | 'rejected';
  credentialsVersion: number;
  issuedAt: string;
  /** null when the token does not expire. */
  expiresAt: string | null;
  refreshable: boolean;
  scopes: string[];
  /** Whether the client app has a webhook: without one, no notification step is scheduled. */
  webhooks?: boolean;
}

export type RefreshResult =
  | { outcome: 'refreshed'; credentialsVersion: number; issuedAt: string; expiresAt: string | null; refreshable: boolean }
  | { outcome: 'transient'; retryAfterSeconds?: number; errorCode: string }
  /** The row records a newer authorization attempt (reauthorize) whose event this execution missed. */
  | { outcome: 'reauthorizing'; authorizationId: string; deadline: string }
  | { outcome: 'reauth_required' | 'failed' | 'gone'; errorCode?: string };

export interface MarkOutcomeInput extends ConnectionRef {
  authorizationId: string;
  status: 'expired' | 'denied' | 'failed';
  errorCode?: string;
  errorMessage?: string;
}

export type WebhookEventType =
  | 'connection.connected'
  | 'connection.refresh_failed'
  | 'connection.reauth_required'
  | 'connection.revoked';

export interface NotifyWebhookInput extends ConnectionRef {
  type: WebhookEventType;
  /** Deterministic id (from context.df.newGuid) so receivers can dedupe retried deliveries. */
  eventId: string;
  occurredAt: string;
  error?: { code: string; message: string };
}
