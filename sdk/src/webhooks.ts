/**
 * Verifying the broker's webhook deliveries (docs/webhooks.md). Two schemes:
 * - Standard Webhooks (preferred, used whenever `webhook-signature` is present): `webhook-signature`
 *   is a space-separated list of `v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>`,
 *   one per secret the broker signs with; the key of a `whsec_<base64>` secret is the decoded bytes.
 * - Legacy (deprecated, one more release): `x-broker-signature` is `v1=` + hex
 *   HMAC-SHA256(secret, `<x-broker-timestamp>.<raw body>`).
 * The timestamp must be within a tolerance of the receiver's clock. Deliveries replayed inside the
 * window still verify: deduplicate by `webhook-id` (the event `id`).
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
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

export const STANDARD_WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const STANDARD_SECRET_PREFIX = 'whsec_';
const STANDARD_SIGNATURE_FORMAT = /^v1,([A-Za-z0-9+/]{43}=)$/;

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

function standardKey(secret: string): Buffer {
  return secret.startsWith(STANDARD_SECRET_PREFIX) ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

function standardSignatureBytes(secret: string, id: string, timestamp: string, rawBody: string | Uint8Array): Buffer {
  const hmac = createHmac('sha256', standardKey(secret)).update(`${id}.${timestamp}.`, 'utf8');
  return (typeof rawBody === 'string' ? hmac.update(rawBody, 'utf8') : hmac.update(rawBody)).digest();
}

function isFresh(timestamp: string | undefined, options: VerifyWebhookOptions): timestamp is string {
  if (timestamp === undefined || !TIMESTAMP_FORMAT.test(timestamp)) return false;
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  return Math.abs(nowSeconds - Number(timestamp)) <= (options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS);
}

function verifyStandard(rawBody: string | Uint8Array, headers: WebhookHeaders, signatureHeader: string, secrets: string[], options: VerifyWebhookOptions): boolean {
  const id = header(headers, STANDARD_WEBHOOK_HEADERS.id);
  const timestamp = header(headers, STANDARD_WEBHOOK_HEADERS.timestamp);
  if (id === undefined || id === '' || !isFresh(timestamp, options)) return false;
  const received = signatureHeader
    .split(' ')
    .map((entry) => STANDARD_SIGNATURE_FORMAT.exec(entry)?.[1])
    .filter((b64): b64 is string => b64 !== undefined)
    .map((b64) => Buffer.from(b64, 'base64'));
  const expected = secrets.map((secret) => standardSignatureBytes(secret, id, timestamp, rawBody));
  // Every pair is compared, so the time taken does not tell which secret matched.
  return received.flatMap((signature) => expected.map((bytes) => timingSafeEqual(bytes, signature))).includes(true);
}

function verifyLegacy(rawBody: string | Uint8Array, headers: WebhookHeaders, secrets: string[], options: VerifyWebhookOptions): boolean {
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp);
  const signature = SIGNATURE_FORMAT.exec(header(headers, WEBHOOK_HEADERS.signature) ?? '')?.[1];
  if (signature === undefined || !isFresh(timestamp, options)) return false;
  const received = Buffer.from(signature, 'hex');
  return secrets.map((secret) => timingSafeEqual(signatureBytes(secret, timestamp, rawBody), received)).includes(true);
}

/**
 * True when the delivery is fresh and signed with (one of) the secret(s): by the Standard Webhooks
 * headers when the delivery has them, otherwise by the legacy `x-broker-*` headers. Pass the body
 * exactly as received, before any JSON parsing: re-serialised JSON does not match. Constant-time
 * comparison.
 */
export function verifyWebhook(rawBody: string | Uint8Array, headers: WebhookHeaders, options: VerifyWebhookOptions): boolean {
  const secrets = (typeof options.secret === 'string' ? [options.secret] : [...options.secret]).filter((s) => s !== '');
  if (secrets.length === 0) return false;
  const standardSignature = header(headers, STANDARD_WEBHOOK_HEADERS.signature);
  return standardSignature !== undefined
    ? verifyStandard(rawBody, headers, standardSignature, secrets, options)
    : verifyLegacy(rawBody, headers, secrets, options);
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
