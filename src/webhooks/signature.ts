import { createHmac, timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../domain/errors';
import { standardWebhookKey } from '../domain/webhook-secret';

/**
 * Webhook signing, two schemes side by side for one release (docs/webhooks.md):
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64
 *   HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one signature per configured secret so receivers
 *   can rotate. Verify with the `standardwebhooks` package.
 * - Legacy (deprecated): `x-broker-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 *   with the newest secret, checked by {@link verifyWebhook}.
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */

export const WEBHOOK_HEADERS = {
  timestamp: 'x-broker-timestamp',
  signature: 'x-broker-signature',
  eventId: 'x-broker-event-id',
} as const;

export const STANDARD_WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;


/** How far a delivery's timestamp may be from the receiver's clock, either way. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const SIGNATURE_VERSION = 'v1';
const SIGNATURE_FORMAT = /^v1=[0-9a-f]{64}$/;
const TIMESTAMP_FORMAT = /^[0-9]{1,15}$/;

function hmacHex(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/**
 * Signs a webhook body for the given time.
 *
 * @param secret the client's webhook secret (non-empty)
 * @param timestampSeconds Unix time in whole seconds, sent as `x-broker-timestamp`
 * @param body the exact JSON text that will be sent
 * @returns `v1=<64 lower-case hex digits>`, the value of `x-broker-signature`
 * @throws BrokerError `CONFIG_INVALID` for an empty secret, `INVALID_REQUEST` for a timestamp that
 *   is not a non-negative whole number
 * @see https://www.rfc-editor.org/rfc/rfc2104 (HMAC)
 */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  if (secret === '') throw new BrokerError('CONFIG_INVALID', 'The webhook secret is empty.');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new BrokerError('INVALID_REQUEST', 'A webhook timestamp must be a non-negative whole number of seconds.');
  }
  return `${SIGNATURE_VERSION}=${hmacHex(secret, timestampSeconds, body)}`;
}

/**
 * The `webhook-signature` value: `v1,<base64>` for each secret, space-separated, so a receiver
 * holding any one of them (old or new, during a rotation) verifies the delivery.
 */
export function signStandardWebhook(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new BrokerError('CONFIG_INVALID', 'The webhook secret is empty.');
  return secrets
    .map((secret) => `v1,${createHmac('sha256', standardWebhookKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`)
    .join(' ');
}

export interface WebhookDelivery {
  /** Newest first: all sign `webhook-signature`, the first also signs the legacy header. */
  secrets: readonly string[];
  eventId: string;
  body: string;
  timestampSeconds: number;
}

/**
 * The headers of one delivery attempt: content type, the Standard Webhooks id, timestamp and
 * signatures, and the legacy `x-broker-*` headers (kept for one release).
 * @see signStandardWebhook
 * @see signWebhook
 */
export function buildWebhookHeaders(delivery: WebhookDelivery): Record<string, string> {
  const { secrets, eventId, timestampSeconds, body } = delivery;
  const legacySignature = signWebhook(secrets[0] ?? '', timestampSeconds, body);
  return {
    'content-type': 'application/json',
    [STANDARD_WEBHOOK_HEADERS.id]: eventId,
    [STANDARD_WEBHOOK_HEADERS.timestamp]: String(timestampSeconds),
    [STANDARD_WEBHOOK_HEADERS.signature]: signStandardWebhook(secrets, eventId, timestampSeconds, body),
    [WEBHOOK_HEADERS.eventId]: eventId,
    [WEBHOOK_HEADERS.timestamp]: String(timestampSeconds),
    [WEBHOOK_HEADERS.signature]: legacySignature,
  };
}

export interface WebhookVerification {
  secret: string;
  timestampHeader: string | undefined;
  signatureHeader: string | undefined;
  /** The raw request body, exactly as received (not re-serialised JSON). */
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}

/**
 * Checks a delivery's legacy `x-broker-signature` and freshness (deprecated: receivers move to the
 * Standard Webhooks headers): `true` only when the timestamp is within
 * `toleranceSeconds` (default 300) of `nowSeconds`, either way, and the signature matches. The
 * comparison takes constant time. A delivery replayed inside the window still verifies, so
 * receivers also deduplicate by `x-broker-event-id`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc2104 (HMAC)
 */
export function verifyWebhook(input: WebhookVerification): boolean {
  const { secret, timestampHeader, signatureHeader, body, nowSeconds } = input;
  const toleranceSeconds = input.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (secret === '' || timestampHeader === undefined || signatureHeader === undefined) return false;
  if (!TIMESTAMP_FORMAT.test(timestampHeader) || !SIGNATURE_FORMAT.test(signatureHeader)) return false;

  const timestampSeconds = Number(timestampHeader);
  if (Math.abs(nowSeconds - timestampSeconds) > toleranceSeconds) return false;

  const expected = Buffer.from(hmacHex(secret, timestampSeconds, body), 'hex');
  const received = Buffer.from(signatureHeader.slice(SIGNATURE_VERSION.length + 1), 'hex');
  return timingSafeEqual(expected, received);
}
