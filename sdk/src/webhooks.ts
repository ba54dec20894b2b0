/**
 * Verifying the broker's webhook deliveries (docs/webhooks.md): `x-broker-signature` is `v1=` + hex
 * HMAC-SHA256(secret, `<x-broker-timestamp>.<raw body>`), and the timestamp must be within a
 * tolerance of the receiver's clock. Deliveries replayed inside the window still verify: deduplicate
 * by `x-broker-event-id` (the event `id`).
 * @see https://www.rfc-editor.org/rfc/rfc2104 (HMAC)
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BrokerApiError, BrokerErrorCode } from './errors';
import type { ConnectionStatus } from './generated/openapi';

export const WEBHOOK_HEADERS = {
  eventId: 'x-broker-event-id',
  timestamp: 'x-broker-timestamp',
  signature: 'x-broker-signature',
} as const;

export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const TIMESTAMP_FORMAT = /^\d{1,15}$/;
const SIGNATURE_FORMAT = /^v1=([0-9a-f]{64})$/;

export type WebhookEventType = 'connection.connected' | 'connection.refresh_failed' | 'connection.reauth_required' | 'connection.revoked';

export interface WebhookEvent {
  id: string;
  /** More types may come: ignore the ones you do not know (and still answer 2xx). */
  type: WebhookEventType | (string & {});
  occurredAt: string;
  data: {
    connectionId: string;
    provider: string;
    clientId: string;
    endUserId?: string;
    status: ConnectionStatus;
    error?: { code: BrokerErrorCode; message: string };
  };
}

/** Node's `req.headers`, a fetch `Headers`, or any record of header names (any case) to values. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** The webhook secret; several during a rotation (any one may match). */
  secret: string | readonly string[];
  /** How far the timestamp may be from `now`, either way (default 300 s). */
  toleranceSeconds?: number;
  /** Milliseconds since the epoch (injectable for tests). */
  now?: () => number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== name) continue;
    // Two copies of a signature header are not one delivery's signature.
    return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  }
  return undefined;
}

function signatureBytes(secret: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`, 'utf8');
  return (typeof rawBody === 'string' ? hmac.update(rawBody, 'utf8') : hmac.update(rawBody)).digest();
}

/**
 * True when the delivery is fresh and signed with (one of) the secret(s). Pass the body exactly as
 * received, before any JSON parsing: re-serialised JSON does not match. Constant-time comparison.
 */
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, options: VerifyWebhookOptions): boolean {
  const secrets = (typeof options.secret === 'string' ? [options.secret] : [...options.secret]).filter((s) => s !== '');
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp);
  const signature = SIGNATURE_FORMAT.exec(header(headers, WEBHOOK_HEADERS.signature) ?? '')?.[1];
  if (secrets.length === 0 || timestamp === undefined || signature === undefined || !TIMESTAMP_FORMAT.test(timestamp)) return false;

  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS)) return false;

  const received = Buffer.from(signature, 'hex');
  // Every secret is tried, so the time taken does not tell which one matched.
  return secrets.map((secret) => timingSafeEqual(signatureBytes(secret, timestamp, rawBody), received)).includes(true);
}

/**
 * The delivery's event once it verifies; otherwise a {@link BrokerApiError} with code
 * `WEBHOOK_SIGNATURE_INVALID` (answer such a request with 401 and do nothing else).
 */
export function constructWebhookEvent(rawBody: string | Uint8Array, headers: WebhookHeaders, options: VerifyWebhookOptions): WebhookEvent {
  if (!verifyWebhook(rawBody, headers, options)) {
    throw new BrokerApiError('WEBHOOK_SIGNATURE_INVALID', 'the webhook delivery is unsigned, stale or signed with another secret', { status: 0 });
  }
  const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
  return JSON.parse(text) as WebhookEvent;
}
