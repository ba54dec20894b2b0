/**
 * The SDK's token cache against a scripted loopback broker and an injected clock: a token is handed
 * out from memory until shortly before its `expiresAt`, concurrent callers share one request, and
 * failures, revocation and refresh leave nothing stale behind.
 */
import { BrokerClient } from '../../sdk/src';
import { fakeTime, ScriptedServer, startScriptedServer } from './support/scripted-server';

let server: ScriptedServer;
beforeAll(async () => {
  server = await startScriptedServer();
});
afterAll(() => server.stop());

const tokenRequests = () => server.received.filter((r) => r.url.endsWith('/token')).length;

function setUp(options: { refreshMarginMs?: number } = {}) {
  server.received.length = 0;
  const time = fakeTime();
  const client = new BrokerClient({ baseUrl: server.url, apiKey: 'k', now: time.now, sleep: time.sleep, tokenCache: options });
  const oauth2Token = (accessToken: string, lifetimeMs: number) => ({
    status: 200,
    body: { tokenType: 'Bearer', accessToken, expiresAt: new Date(time.now() + lifetimeMs).toISOString(), scopes: ['read'] },
  });
  return { time, client, oauth2Token };
}

test('When a token has an hour left, then it is served from memory until 30 s before expiresAt, and fetched again from then on', async () => {
  const { time, client, oauth2Token } = setUp();
  server.answer(oauth2Token('first', 3_600_000));
  expect(await client.tokens.get('c1')).toMatchObject({ accessToken: 'first' });
  server.answer(oauth2Token('second', 3_600_000));
  time.advance(3_600_000 - 30_000 - 1);
  expect(await client.tokens.get('c1')).toMatchObject({ accessToken: 'first' });
  expect(tokenRequests()).toBe(1);

  time.advance(1);
  expect(await client.tokens.get('c1')).toMatchObject({ accessToken: 'second' });
  expect(tokenRequests()).toBe(2);
});

test('When a token lives less than twice the margin, then it is reused for half its lifetime', async () => {
  const { time, client, oauth2Token } = setUp({ refreshMarginMs: 60_000 });
  server.answer(oauth2Token('short', 10_000));
  await client.tokens.get('c1');
  time.advance(4_999);
  await client.tokens.get('c1');
  expect(tokenRequests()).toBe(1);
  time.advance(1);
  await client.tokens.get('c1');
  expect(tokenRequests()).toBe(2);
});

test('When several callers ask at once, then one request is sent and all get its token', async () => {
  const { client, oauth2Token } = setUp();
  server.answer(oauth2Token('shared', 3_600_000));
  const tokens = await Promise.all([client.tokens.get('c1'), client.tokens.get('c1'), client.tokens.get('c1')]);
  expect(tokens.map((t) => ('accessToken' in t ? t.accessToken : undefined))).toEqual(['shared', 'shared', 'shared']);
  expect(tokenRequests()).toBe(1);
});

test('When a token has no expiry (OAuth 1.0a), then it stays cached until invalidated', async () => {
  const { time, client } = setUp();
  server.answer({ status: 200, body: { oauthToken: 't1', oauthTokenSecret: 's1' } });
  await client.tokens.get('c1');
  time.advance(365 * 24 * 3_600_000);
  await client.tokens.get('c1');
  expect(tokenRequests()).toBe(1);
  client.tokens.invalidate('c1');
  await client.tokens.get('c1');
  expect(tokenRequests()).toBe(2);
});

test('When the broker refuses, then the error reaches the caller and the next call asks again', async () => {
  const { client, oauth2Token } = setUp();
  server.answer({ status: 409, body: { error: { code: 'CONNECTION_NOT_CONNECTED', message: 'awaiting_callback' } } });
  await expect(client.tokens.get('c1')).rejects.toMatchObject({ code: 'CONNECTION_NOT_CONNECTED', status: 409 });
  server.answer(oauth2Token('later', 3_600_000));
  await expect(client.tokens.get('c1')).resolves.toMatchObject({ accessToken: 'later' });
  expect(tokenRequests()).toBe(2);
});

test('When the connection is invalidated while its token is in flight, then that answer is not cached', async () => {
  const { client, oauth2Token } = setUp();
  server.answer(oauth2Token('before-invalidate', 3_600_000));
  const inFlight = client.tokens.get('c1');
  client.tokens.invalidate('c1');
  await inFlight;
  await client.tokens.get('c1');
  expect(tokenRequests()).toBe(2);
});

test('When the connection is revoked or refreshed through the client, then its cached token is dropped', async () => {
  const { client, oauth2Token } = setUp();
  server.answer(oauth2Token('a', 3_600_000));
  await client.tokens.get('c1');
  server.answer({ status: 200, body: { connectionId: 'c1' } });
  await client.refreshConnection('c1');
  server.answer(oauth2Token('b', 3_600_000));
  expect(await client.tokens.get('c1')).toMatchObject({ accessToken: 'b' });

  server.answer({ status: 204 });
  await client.revokeConnection('c1');
  server.answer({ status: 410, body: { error: { code: 'CONNECTION_REVOKED', message: 'the connection was revoked' } } });
  await expect(client.tokens.get('c1')).rejects.toMatchObject({ code: 'CONNECTION_REVOKED', status: 410 });
  expect(tokenRequests()).toBe(3);
});
