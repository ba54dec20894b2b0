/**
 * OAuth 2.0 end to end on the local host: start → consent at oidc-provider → callback → connected,
 * then the orchestration keeps 5-second tokens fresh by itself with rotated refresh tokens.
 */
import { CLIENT_KEY, connect, consent, OTHER_CLIENT_KEY, RETURN_URL, startConnection, startWorld, waitForStatus, World } from './support/world';
import { eventually } from './support/broker-host';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 5 });
});
afterAll(async () => {
  await world?.stop();
});

test('a connection goes from awaiting_callback to connected and its token works at the provider', async () => {
  const started = await startConnection(world, { provider: 'oidc', endUserId: 'alice', returnTo: RETURN_URL });
  expect(started.status).toBe('awaiting_callback');
  expect(started.connectionId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  const authorization = new URL(started.authorizationUrl);
  expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorization.searchParams.get('redirect_uri')).toBe(`${world.broker.url}/api/callback/oidc`);

  const before = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(before.json).toMatchObject({ status: 'awaiting_callback', provider: 'oidc', protocol: 'oauth2', endUserId: 'alice' });

  const callback = await consent(world, started.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(302);
  const back = new URL(answer.headers.get('location') ?? '');
  expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
  expect(back.searchParams.get('connectionId')).toBe(started.connectionId);
  expect(back.searchParams.get('status')).toBe('connected');

  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  expect(token.json).toMatchObject({ tokenType: 'Bearer', scopes: expect.arrayContaining(['openid']) });
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.json.accessToken}` } });
  expect(me.status).toBe(200);

  // The same callback again: the same answer, and no second code exchange at the provider.
  const exchangesBefore = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'authorization_code').length;
  const again = await world.broker.request('GET', callback);
  expect(again.status).toBe(302);
  expect(again.headers.get('location')).toBe(answer.headers.get('location'));
  const exchangesAfter = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'authorization_code').length;
  expect(exchangesAfter).toBe(exchangesBefore);
});

test('with 5-second tokens the connection refreshes by itself, rotating the refresh token each time, never reusing one', async () => {
  const connectionId = await connect(world, 'oidcpost');
  const first = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });

  await eventually(async () => {
    const refreshes = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === 'broker-post');
    return refreshes.length >= 3 ? refreshes : undefined;
  }, 40_000, 250);

  const log = (await world.oidc.tokenLog()).filter((e) => e.clientId === 'broker-post');
  const refreshes = log.filter((e) => e.grantType === 'refresh_token');
  expect(refreshes.every((e) => e.outcome === 'ok')).toBe(true);
  // Each refresh presents the token issued by the previous answer: a chain, no token used twice.
  const presented = refreshes.map((e) => e.refreshTokenFingerprint);
  expect(new Set(presented).size).toBe(presented.length);
  const issued = log.map((e) => e.issuedRefreshTokenFingerprint);
  for (let i = 0; i < refreshes.length; i++) {
    expect(issued).toContain(refreshes[i].refreshTokenFingerprint);
    expect(refreshes[i].issuedRefreshTokenFingerprint).not.toBe(refreshes[i].refreshTokenFingerprint);
  }

  const later = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(later.json.status).toMatch(/^(connected|refreshing)$/);
  expect(later.json.lastRefreshedAt).not.toBeNull();
  expect(Date.parse(later.json.expiresAt)).toBeGreaterThan(Date.parse(first.json.expiresAt));

  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  expect(Date.parse(token.json.expiresAt) - Date.now()).toBeGreaterThan(1000);
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.json.accessToken}` } });
  expect(me.status).toBe(200);
});

test('a client key cannot read another client\'s connection, and no key is 401', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const other = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: OTHER_CLIENT_KEY });
  expect(other.status).toBe(404);
  expect(other.json.error.code).toBe('CONNECTION_NOT_FOUND');
  const otherToken = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: OTHER_CLIENT_KEY });
  expect(otherToken.status).toBe(404);
  const none = await world.broker.request('GET', `/api/connections/${started.connectionId}`);
  expect(none.status).toBe(401);
  expect(none.json.error.code).toBe('UNAUTHORIZED');
  const wrong = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: 'not-a-key' });
  expect(wrong.status).toBe(401);
  const ops = await world.broker.request('GET', `/api/ops/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(ops.status).toBe(403);
  const list = await world.broker.request('GET', '/api/connections', { key: OTHER_CLIENT_KEY });
  expect(list.json.items.map((c: { connectionId: string }) => c.connectionId)).not.toContain(started.connectionId);
});

test('denial at the consent screen makes the connection denied and tells returnTo', async () => {
  const started = await startConnection(world, { provider: 'oidc', returnTo: RETURN_URL });
  const callback = await consent(world, started.authorizationUrl, false);
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(302);
  const back = new URL(answer.headers.get('location') ?? '');
  expect(back.searchParams.get('status')).toBe('denied');
  expect(back.searchParams.get('error')).toBe('access_denied');
  await waitForStatus(world, started.connectionId, 'denied');
  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(409);
  expect(token.json.error.code).toBe('CONNECTION_NOT_CONNECTED');
});
