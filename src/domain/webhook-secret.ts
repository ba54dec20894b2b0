import { BrokerError } from './errors';

/** The Standard Webhooks secret prefix: what follows it is the base64 of the HMAC key. */
export const STANDARD_SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a secret as Standard Webhooks reads it: `whsec_<base64>` is the decoded bytes;
 * any other secret is its own UTF-8 bytes (the `standardwebhooks` package's `{format: "raw"}` for
 * ASCII secrets).
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
export function standardWebhookKey(secret: string): Buffer {
  const key = secret.startsWith(STANDARD_SECRET_PREFIX) ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
  if (key.length === 0) throw new BrokerError('CONFIG_INVALID', 'The webhook secret is empty.');
  return key;
}
