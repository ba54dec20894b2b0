import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { BrokerError } from '../../../src/domain/errors';
import {
  buildWebhookHeaders,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  signStandardWebhook,
  signWebhook,
  verifyWebhook,
  WEBHOOK_HEADERS,
  WebhookVerification,
} from '../../../src/webhooks/signature';

const SECRET = 'whsec_test';
const TIMESTAMP = 1_700_000_000;
const BODY = '{"id":"evt_1","type":"connection.connected"}';
// Computed independently: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac whsec_test
const KNOWN_SIGNATURE = 'v1=5992d5a1bda1a0b42bd96511bb825d9f69fe643362234e0d6ab46d987560fa9f';

function delivery(overrides: Partial<WebhookVerification> = {}): WebhookVerification {
  return {
    secret: SECRET,
    timestampHeader: String(TIMESTAMP),
    signatureHeader: signWebhook(SECRET, TIMESTAMP, BODY),
    body: BODY,
    nowSeconds: TIMESTAMP,
    ...overrides,
  };
}

describe('signWebhook', () => {
  test('signs "<timestamp>.<body>" with HMAC-SHA256 as v1=<hex> (known answer from openssl)', () => {
    expect(signWebhook(SECRET, TIMESTAMP, BODY)).toBe(KNOWN_SIGNATURE);
  });

  test('signs non-ASCII bodies as UTF-8', () => {
    const body = '{"message":"café ✓"}';
    const expected = createHmac('sha256', SECRET).update(Buffer.from(`${TIMESTAMP}.${body}`, 'utf8')).digest('hex');
    expect(signWebhook(SECRET, TIMESTAMP, body)).toBe(`v1=${expected}`);
  });

  test.each([
    ['an empty secret', '', TIMESTAMP, 'CONFIG_INVALID'],
    ['a fractional timestamp', SECRET, 1.5, 'INVALID_REQUEST'],
    ['a negative timestamp', SECRET, -1, 'INVALID_REQUEST'],
    ['a timestamp in milliseconds beyond safe integers', SECRET, Number.MAX_SAFE_INTEGER + 2, 'INVALID_REQUEST'],
    ['NaN', SECRET, Number.NaN, 'INVALID_REQUEST'],
  ])('when given %s, then it refuses to sign', (_name, secret, timestamp, code) => {
    expect(() => signWebhook(secret, timestamp, BODY)).toThrow(BrokerError);
    expect(() => signWebhook(secret, timestamp, BODY)).toThrow(expect.objectContaining({ code }));
  });
});

describe('buildWebhookHeaders', () => {
  test('carries content type, event id, timestamp and the signature of that timestamp', () => {
    const headers = buildWebhookHeaders({ secrets: [SECRET], eventId: 'evt_1', body: BODY, timestampSeconds: TIMESTAMP });
    expect(headers).toEqual({
      'content-type': 'application/json',
      'webhook-id': 'evt_1',
      'webhook-timestamp': '1700000000',
      // The standardwebhooks package's own signer is the known answer.
      'webhook-signature': new Webhook(SECRET).sign('evt_1', new Date(TIMESTAMP * 1000), BODY),
      'x-broker-event-id': 'evt_1',
      'x-broker-timestamp': '1700000000',
      'x-broker-signature': KNOWN_SIGNATURE,
    });
    expect(WEBHOOK_HEADERS).toEqual({
      timestamp: 'x-broker-timestamp',
      signature: 'x-broker-signature',
      eventId: 'x-broker-event-id',
    });
  });
});

describe('verifyWebhook', () => {
  test('when the delivery is untouched and fresh, then it verifies', () => {
    expect(verifyWebhook(delivery())).toBe(true);
  });

  test('the default tolerance is 300 seconds', () => {
    expect(DEFAULT_WEBHOOK_TOLERANCE_SECONDS).toBe(300);
  });

  test.each([
    ['a tampered body', { body: BODY.replace('connected', 'revoked') }],
    ['a body with one extra space', { body: `${BODY} ` }],
    ['a wrong secret', { secret: 'whsec_other' }],
    ['an empty secret', { secret: '' }],
    ['a timestamp changed after signing (replay with a fresh time)', { timestampHeader: String(TIMESTAMP + 1), nowSeconds: TIMESTAMP + 1 }],
    ['a flipped signature digit', { signatureHeader: KNOWN_SIGNATURE.replace(/.$/, 'e') }],
    ['an upper-case signature', { signatureHeader: KNOWN_SIGNATURE.toUpperCase().replace('V1', 'v1') }],
    ['another signature version', { signatureHeader: KNOWN_SIGNATURE.replace('v1=', 'v0=') }],
    ['a truncated signature', { signatureHeader: KNOWN_SIGNATURE.slice(0, -2) }],
    ['a signature without its version', { signatureHeader: KNOWN_SIGNATURE.slice(3) }],
    ['no signature header', { signatureHeader: undefined }],
    ['no timestamp header', { timestampHeader: undefined }],
    ['a timestamp that is not a whole number', { timestampHeader: '1700000000.0' }],
    ['a timestamp with a sign', { timestampHeader: '+1700000000' }],
    ['an empty timestamp', { timestampHeader: '' }],
    ['a stale timestamp (301 s old)', { nowSeconds: TIMESTAMP + 301 }],
    ['a timestamp from the future (301 s ahead)', { nowSeconds: TIMESTAMP - 301 }],
    ['a stale timestamp under a custom tolerance', { nowSeconds: TIMESTAMP + 61, toleranceSeconds: 60 }],
  ] as Array<[string, Partial<WebhookVerification>]>)('when the delivery has %s, then it does not verify', (_name, overrides) => {
    expect(verifyWebhook(delivery(overrides))).toBe(false);
  });

  test('replay window: the same delivery verifies up to the tolerance on either side, and not after', () => {
    expect(verifyWebhook(delivery({ nowSeconds: TIMESTAMP + 300 }))).toBe(true);
    expect(verifyWebhook(delivery({ nowSeconds: TIMESTAMP - 300 }))).toBe(true);
    expect(verifyWebhook(delivery({ nowSeconds: TIMESTAMP + 301 }))).toBe(false);
    expect(verifyWebhook(delivery({ nowSeconds: TIMESTAMP + 30, toleranceSeconds: 30 }))).toBe(true);
    expect(verifyWebhook(delivery({ nowSeconds: TIMESTAMP + 31, toleranceSeconds: 30 }))).toBe(false);
  });

  test('a retry signed with its own newer timestamp verifies, its old signature does not carry over', () => {
    const retryTime = TIMESTAMP + 40;
    const retry = delivery({
      timestampHeader: String(retryTime),
      signatureHeader: signWebhook(SECRET, retryTime, BODY),
      nowSeconds: retryTime,
    });
    expect(verifyWebhook(retry)).toBe(true);
    expect(verifyWebhook({ ...retry, signatureHeader: KNOWN_SIGNATURE })).toBe(false);
  });
});

describe('Standard Webhooks signatures', () => {
  const NEW_SECRET = `whsec_${Buffer.from('a new key of 24 bytes!!!').toString('base64')}`;
  const headersAt = (secrets: string[], timestampSeconds: number) => buildWebhookHeaders({ secrets, eventId: 'evt_1', body: BODY, timestampSeconds });

  test('when two secrets are configured, then a receiver holding either one verifies with the standardwebhooks package', () => {
    const headers = headersAt([NEW_SECRET, SECRET], Math.floor(Date.now() / 1000));
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(NEW_SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(() => new Webhook(`whsec_${Buffer.from('another key').toString('base64')}`).verify(BODY, headers)).toThrow('No matching signature found');
    // The legacy header is signed with the newest secret only.
    expect(headers['x-broker-signature']).toBe(signWebhook(NEW_SECRET, Number(headers['x-broker-timestamp']), BODY));
  });

  test('the id and the timestamp are inside the signed content: changing either breaks the signature', () => {
    const headers = headersAt([SECRET], Math.floor(Date.now() / 1000));
    expect(() => new Webhook(SECRET).verify(BODY, { ...headers, 'webhook-id': 'evt_2' })).toThrow('No matching signature found');
    expect(() => new Webhook(SECRET).verify(BODY, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) })).toThrow(
      'No matching signature found',
    );
  });

  test('a secret without the whsec_ prefix is used as its own bytes, as the package reads {format: "raw"}', () => {
    const headers = headersAt(['plain-secret'], Math.floor(Date.now() / 1000));
    expect(new Webhook('plain-secret', { format: 'raw' }).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  test('when no secret is configured, then it refuses to sign', () => {
    expect(() => signStandardWebhook([], 'evt_1', TIMESTAMP, BODY)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
