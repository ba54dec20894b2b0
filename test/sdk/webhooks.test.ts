/**
 * The SDK's webhook verification against the broker's own signing (src/webhooks/signature.ts): what
 * the broker signs verifies, and a wrong secret, a changed byte, a stale or future timestamp, a
 * missing or malformed header do not. (client.e2e.test.ts checks real deliveries too.)
 */
import { createHmac } from 'node:crypto';
import { constructWebhookEvent, verifyWebhook } from '../../sdk/src';
import { buildWebhookHeaders } from '../../src/webhooks/signature';

const SECRET = 'whsec-0123456789';
const NOW_MS = Date.parse('2026-05-01T12:00:00Z');
const nowSeconds = NOW_MS / 1000;
const now = () => NOW_MS;
const body = JSON.stringify({
  id: 'evt_0123456789abcdef0123456789abcdef',
  type: 'connection.connected',
  occurredAt: '2026-05-01T12:00:00.000Z',
  data: { connectionId: 'c1', provider: 'oidc', clientId: 'app1', status: 'connected', endUserId: 'Zoë' },
});
const signed = (timestampSeconds = nowSeconds) => buildWebhookHeaders({ secret: SECRET, eventId: 'evt_0123456789abcdef0123456789abcdef', body, timestampSeconds });

test('When the broker signed the body, then it verifies as text, as bytes, with a fetch Headers and with any header case', () => {
  const headers = signed();
  expect(verifyWebhook(body, headers, { secret: SECRET, now })).toBe(true);
  expect(verifyWebhook(Buffer.from(body, 'utf8'), headers, { secret: SECRET, now })).toBe(true);
  expect(verifyWebhook(body, new Headers(headers), { secret: SECRET, now })).toBe(true);
  const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
  expect(verifyWebhook(body, shouting, { secret: SECRET, now })).toBe(true);
});

test('When the secret rotates, then either of the two secrets verifies', () => {
  expect(verifyWebhook(body, signed(), { secret: ['whsec-new', SECRET], now })).toBe(true);
  expect(verifyWebhook(body, signed(), { secret: ['whsec-new', 'whsec-older'], now })).toBe(false);
});

test('When the timestamp is at the edge of the tolerance, then it verifies; one second past either edge, it does not', () => {
  expect(verifyWebhook(body, signed(nowSeconds - 300), { secret: SECRET, now })).toBe(true);
  expect(verifyWebhook(body, signed(nowSeconds + 300), { secret: SECRET, now })).toBe(true);
  expect(verifyWebhook(body, signed(nowSeconds - 301), { secret: SECRET, now })).toBe(false);
  expect(verifyWebhook(body, signed(nowSeconds + 301), { secret: SECRET, now })).toBe(false);
  expect(verifyWebhook(body, signed(nowSeconds - 20), { secret: SECRET, now, toleranceSeconds: 10 })).toBe(false);
});

test.each([
  ['another secret', () => verifyWebhook(body, signed(), { secret: 'whsec-other', now })],
  ['an empty secret (even one the body was signed with)', () => verifyWebhook(body, { ...signed(), 'x-broker-signature': `v1=${createHmac('sha256', '').update(`${nowSeconds}.${body}`).digest('hex')}` }, { secret: '', now })],
  ['one changed byte of the body', () => verifyWebhook(body.replace('c1', 'c2'), signed(), { secret: SECRET, now })],
  ['re-serialised JSON', () => verifyWebhook(JSON.stringify(JSON.parse(body), null, 1), signed(), { secret: SECRET, now })],
  ['the timestamp header changed after signing', () => verifyWebhook(body, { ...signed(), 'x-broker-timestamp': String(nowSeconds + 1) }, { secret: SECRET, now })],
  ['no signature header', () => verifyWebhook(body, { 'x-broker-timestamp': String(nowSeconds) }, { secret: SECRET, now })],
  ['no timestamp header', () => verifyWebhook(body, { 'x-broker-signature': signed()['x-broker-signature'] }, { secret: SECRET, now })],
  ['upper-case hex', () => verifyWebhook(body, { ...signed(), 'x-broker-signature': signed()['x-broker-signature'].toUpperCase().replace('V1', 'v1') }, { secret: SECRET, now })],
  ['another version prefix', () => verifyWebhook(body, { ...signed(), 'x-broker-signature': signed()['x-broker-signature'].replace('v1=', 'v2=') }, { secret: SECRET, now })],
  ['a truncated signature', () => verifyWebhook(body, { ...signed(), 'x-broker-signature': signed()['x-broker-signature'].slice(0, -2) }, { secret: SECRET, now })],
  ['a fractional timestamp', () => verifyWebhook(body, { ...signed(), 'x-broker-timestamp': `${nowSeconds}.0` }, { secret: SECRET, now })],
  ['two signature headers', () => verifyWebhook(body, { ...signed(), 'x-broker-signature': [signed()['x-broker-signature'], signed()['x-broker-signature']] }, { secret: SECRET, now })],
])('When a delivery has %s, then it does not verify', (_name, verify) => {
  expect(verify()).toBe(false);
});

test('constructWebhookEvent returns the typed event of a verified delivery and throws WEBHOOK_SIGNATURE_INVALID otherwise', () => {
  const event = constructWebhookEvent(body, signed(), { secret: SECRET, now });
  expect(event).toEqual(JSON.parse(body));
  expect(event.data.endUserId).toBe('Zoë');
  expect(() => constructWebhookEvent(body, signed(), { secret: 'whsec-other', now })).toThrow(expect.objectContaining({ name: 'BrokerApiError', code: 'WEBHOOK_SIGNATURE_INVALID' }));
});
