/**
 * The client's retries against a scripted loopback server: 429 and 503 are sent again after the
 * `Retry-After` the answer named (seconds or HTTP-date, read against the injected clock) or after a
 * back-off, within a bounded number of attempts; everything else is answered at once.
 */
import { BrokerClient, parseRetryAfter } from '../../sdk/src';
import { rejection } from './support/rejection';
import { fakeTime, ScriptedServer, startScriptedServer } from './support/scripted-server';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.received.length = 0;
});

const CONNECTION = { connectionId: 'c1', provider: 'p', protocol: 'oauth2', status: 'connected', scopes: [], endUserId: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', expiresAt: null, lastRefreshedAt: null };
const brokerError = (code: string, status: number, headers: Record<string, string> = {}) => ({ status, headers, body: { error: { code, message: `${code} happened` } } });

function client(time = fakeTime(), extra: Partial<ConstructorParameters<typeof BrokerClient>[0]> = {}) {
  return new BrokerClient({ baseUrl: server.url, apiKey: 'key-1', now: time.now, sleep: time.sleep, random: () => 1, ...extra });
}


test('When the broker answers 503 with Retry-After in seconds, then the client waits that long and sends the same request again', async () => {
  const time = fakeTime();
  server.answer(brokerError('REFRESH_TIMEOUT', 503, { 'retry-after': '2' }), { status: 200, body: CONNECTION });
  await expect(client(time).getConnection('c1')).resolves.toEqual(CONNECTION);
  expect(time.slept).toEqual([2000]);
  expect(server.received.map((r) => `${r.method} ${r.url} ${r.headers.authorization}`)).toEqual(['GET /api/connections/c1 Bearer key-1', 'GET /api/connections/c1 Bearer key-1']);
});

test('When a 429 names an HTTP-date, then the wait is that date less the injected clock', async () => {
  const time = fakeTime(Date.parse('2026-03-01T10:00:00Z'));
  server.answer({ status: 429, headers: { 'retry-after': 'Sun, 01 Mar 2026 10:00:07 GMT' } }, { status: 201, body: { connectionId: 'c1' } });
  await client(time).startConnection({ provider: 'p' });
  expect(time.slept).toEqual([7000]);
  // The body is sent again byte for byte.
  expect(server.received.map((r) => r.body)).toEqual(['{"provider":"p"}', '{"provider":"p"}']);
  expect(server.received[1].headers['content-type']).toBe('application/json');
});

test('When there is no Retry-After, then the back-off doubles from the base delay (equal jitter: between half and all of it)', async () => {
  server.answer({ status: 503, body: '' }, { status: 503, body: '' }, { status: 200, body: { items: [] } });
  const highest = fakeTime();
  await client(highest, { random: () => 1, retry: { baseDelayMs: 100 } }).listProviders();
  expect(highest.slept).toEqual([100, 200]);

  server.answer({ status: 503, body: '' }, { status: 503, body: '' }, { status: 200, body: { items: [] } });
  const lowest = fakeTime();
  await client(lowest, { random: () => 0, retry: { baseDelayMs: 100 } }).listProviders();
  expect(lowest.slept).toEqual([50, 100]);
});

test('When every attempt answers 503, then after maxAttempts the error carries the code, status, Retry-After and attempts', async () => {
  const time = fakeTime();
  server.answer(brokerError('REFRESH_TIMEOUT', 503, { 'retry-after': '1' }));
  const error = await rejection(client(time, { retry: { maxAttempts: 4 } }).getToken('c1'));
  expect(error).toMatchObject({ code: 'REFRESH_TIMEOUT', status: 503, message: 'REFRESH_TIMEOUT happened', retryAfterMs: 1000, attempts: 4 });
  expect(server.received).toHaveLength(4);
  expect(time.slept).toEqual([1000, 1000, 1000]);
});

test('When Retry-After asks for longer than maxDelayMs, then the client does not wait but throws at once', async () => {
  const time = fakeTime();
  server.answer(brokerError('STORAGE_UNAVAILABLE', 503, { 'retry-after': '3600' }));
  const error = await rejection(client(time, { retry: { maxDelayMs: 30_000 } }).getConnection('c1'));
  expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryAfterMs: 3_600_000, attempts: 1 });
  expect(time.slept).toEqual([]);
});

test.each([
  ['400', brokerError('INVALID_REQUEST', 400)],
  ['409', brokerError('CONNECTION_NOT_CONNECTED', 409)],
  ['500', brokerError('INTERNAL', 500)],
  ['502 with Retry-After', brokerError('PROVIDER_UNAVAILABLE', 502, { 'retry-after': '1' })],
])('When the broker answers %s, then nothing is retried', async (_name, answer) => {
  const time = fakeTime();
  server.answer(answer, { status: 200, body: CONNECTION });
  const error = await rejection(client(time).getConnection('c1'));
  expect(error.code).toBe(answer.body.error.code);
  expect(error.status).toBe(answer.status);
  expect(server.received).toHaveLength(1);
  expect(time.slept).toEqual([]);
});

test('When retries are off, then a 503 is thrown after one request', async () => {
  server.answer(brokerError('REFRESH_TIMEOUT', 503, { 'retry-after': '1' }), { status: 200, body: CONNECTION });
  await expect(client(fakeTime(), { retry: false }).getConnection('c1')).rejects.toMatchObject({ code: 'REFRESH_TIMEOUT', attempts: 1 });
  expect(server.received).toHaveLength(1);
});

test('When an error answer is not the broker’s JSON, then the code is UNEXPECTED_RESPONSE with the status', async () => {
  server.answer({ status: 504, body: '<html>gateway timeout</html>', headers: { 'content-type': 'text/html' } });
  await expect(client().getConnection('c1')).rejects.toMatchObject({ code: 'UNEXPECTED_RESPONSE', status: 504 });
});

test('When nothing listens, then the error is NETWORK_ERROR with status 0', async () => {
  const gone = await startScriptedServer();
  await gone.stop();
  await expect(new BrokerClient({ baseUrl: gone.url, apiKey: 'k' }).listProviders()).rejects.toMatchObject({ code: 'NETWORK_ERROR', status: 0 });
});

describe('the proxy', () => {
  test('A proxied GET answered 429 is retried; the provider’s last answer comes back unchanged, not thrown', async () => {
    const time = fakeTime();
    server.answer({ status: 429, headers: { 'retry-after': '3' }, body: { message: 'slow down' } });
    const response = await client(time, { retry: { maxAttempts: 2 } }).proxy('c1', '/user/repos?page=2', { headers: { accept: 'application/json' } });
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ message: 'slow down' });
    expect(time.slept).toEqual([3000]);
    expect(server.received.map((r) => r.url)).toEqual(['/api/connections/c1/proxy/user/repos?page=2', '/api/connections/c1/proxy/user/repos?page=2']);
  });

  test('A proxied POST is sent once even when answered 503 (a retry could repeat its effect)', async () => {
    const time = fakeTime();
    server.answer({ status: 503, headers: { 'retry-after': '1' }, body: 'busy' }, { status: 200, body: 'ok' });
    const response = await client(time).proxy('c1', 'items', { method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(503);
    expect(server.received).toHaveLength(1);
    expect(server.received[0]).toMatchObject({ method: 'POST', body: 'a=1' });
    expect(time.slept).toEqual([]);
  });

  test('The broker’s own upstream failure (x-broker-error) throws with its code; the caller’s Authorization is replaced by the client key', async () => {
    server.answer({ ...brokerError('UPSTREAM_UNREACHABLE', 502), headers: { 'x-broker-error': 'UPSTREAM_UNREACHABLE' } });
    await expect(client().proxy('c1', 'x', { headers: { Authorization: 'Bearer caller-own' } })).rejects.toMatchObject({ code: 'UPSTREAM_UNREACHABLE', status: 502 });
    expect(server.received[0].headers.authorization).toBe('Bearer key-1');
  });
});

test('Retry-After values: delta-seconds, HTTP-dates (past → 0), and anything else ignored', () => {
  const now = Date.parse('2026-03-01T10:00:00Z');
  expect(parseRetryAfter(' 7 ', now)).toBe(7000);
  expect(parseRetryAfter('Sun, 01 Mar 2026 10:01:00 GMT', now)).toBe(60_000);
  expect(parseRetryAfter('Sunday, 01-Mar-26 10:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Sat, 28 Feb 2026 10:00:00 GMT', now)).toBe(0);
  for (const junk of ['1.5', '-3', 'soon', '', null, undefined]) expect(parseRetryAfter(junk, now)).toBeUndefined();
});
