import { createHash } from 'node:crypto';
import { CONNECTION_STATUSES, ConnectionStatus } from '../domain/connection';
import { BrokerError } from '../domain/errors';

/** Events the broker announces to client apps (docs/webhooks.md). */
export const WEBHOOK_EVENT_TYPES = [
  'connection.connected',
  'connection.refresh_failed',
  'connection.reauth_required',
  'connection.recovered',
  'connection.revoked',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  type: WebhookEventType;
  connectionId: string;
  provider: string;
  clientId: string;
  endUserId?: string;
  status: ConnectionStatus;
  /** ISO 8601 time, or a Date. */
  occurredAt: string | Date;
  error?: { code: string; message: string };
}

export interface WebhookPayload {
  /** Stable for the same occurrence, so every retry carries the same `x-broker-event-id`. */
  id: string;
  /** The JSON text to sign and send. */
  body: string;
}

/** Long provider messages are cut: the payload is a notification, not a log. */
export const WEBHOOK_ERROR_MESSAGE_MAX_CHARS = 500;

function invalid(field: string): BrokerError {
  return new BrokerError('INVALID_REQUEST', `Webhook event field "${field}" is missing or invalid.`);
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(field);
  return value;
}

function toIsoTime(value: unknown): string {
  const time = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) throw invalid('occurredAt');
  return time.toISOString();
}

/**
 * Builds the webhook body for a connection event. Only whitelisted fields are copied (never tokens,
 * secrets or metadata, whatever else the event object carries), and the event id is derived from
 * type, connection and time, so a retried delivery activity rebuilds the same id and receivers can
 * deduplicate.
 *
 * @throws BrokerError `INVALID_REQUEST` naming the first field that is missing or invalid
 */
export function buildWebhookPayload(event: WebhookEvent): WebhookPayload {
  const type = event.type;
  if (!(WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(type)) throw invalid('type');
  const status = event.status;
  if (!(CONNECTION_STATUSES as readonly unknown[]).includes(status)) throw invalid('status');
  const connectionId = requireString(event.connectionId, 'connectionId');
  const provider = requireString(event.provider, 'provider');
  const clientId = requireString(event.clientId, 'clientId');
  const occurredAt = toIsoTime(event.occurredAt);
  const endUserId = event.endUserId === undefined ? undefined : requireString(event.endUserId, 'endUserId');
  const error =
    event.error === undefined
      ? undefined
      : {
          code: requireString(event.error.code, 'error.code'),
          message: requireString(event.error.message, 'error.message').slice(0, WEBHOOK_ERROR_MESSAGE_MAX_CHARS),
        };

  const digest = createHash('sha256').update(JSON.stringify([type, connectionId, occurredAt])).digest('hex');
  const id = `evt_${digest.slice(0, 32)}`;
  const body = JSON.stringify({
    id,
    type,
    occurredAt,
    data: { connectionId, provider, clientId, endUserId, status, error },
  });
  return { id, body };
}
