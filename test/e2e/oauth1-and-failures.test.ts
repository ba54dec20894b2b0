/**
 * OAuth 1.0a end to end, denial, and bad callbacks (each refused with its code, changing nothing).
 */
import { CLIENT_KEY, connect, connectionStatus, consent, startConnection, startWorld, waitForStatus, World } from './support/world';
import { withParam, without } from './support/urls';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

test('an OAuth 1.0a connection reaches connected and hands out its token and secret', async () => {
  const connectionId = await connect(world, 'legacy');
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  expect(token.json).toEqual({ oauthToken: expect.any(String), oauthTokenSecret: expect.any(String) });
  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json).toMatchObject({ protocol: 'oauth1', status: 'connected', expiresAt: null });
});

test('an OAuth 1.0a denial makes the connection denied', async () => {
  const started = await startConnection(world, { provider: 'legacy' });
  const callback = await consent(world, started.authorizationUrl, false);
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(200);
  await waitForStatus(world, started.connectionId, 'denied');
});

describe('bad callbacks get a 400 page with a stable code and change nothing', () => {
  let connectionId: string;
  let callback: URL;

  beforeEach(async () => {
    const started = await startConnection(world, { provider: 'oidc' });
    connectionId = started.connectionId;
    callback = new URL(await consent(world, started.authorizationUrl));
  });

  const cases: Array<[string, (u: URL) => string, string]> = [
    ['a forged state', (u) => withParam(u, 'state', 'forged-state-value'), 'STATE_INVALID'],
    ['no state', (u) => without(u, 'state'), 'CALLBACK_INVALID'],
    ['no code', (u) => without(u, 'code'), 'CALLBACK_INVALID'],
    ['a duplicated code parameter', (u) => `${u.toString()}&code=again`, 'CALLBACK_INVALID'],
    ['a duplicated state parameter', (u) => `${u.toString()}&state=again`, 'CALLBACK_INVALID'],
    ['an empty code', (u) => withParam(u, 'code', ''), 'CALLBACK_INVALID'],
    ['the state sent to another provider', (u) => u.toString().replace('/callback/oidc?', '/callback/oidcpost?'), 'STATE_INVALID'],
  ];

  test.each(cases)('%s', async (_name, mutate, code) => {
    const bad = await world.broker.request('GET', mutate(callback));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/text\/html/);
    expect(bad.text).toContain(code);
    expect(await connectionStatus(world, connectionId)).toBe('awaiting_callback');
    // The genuine callback still completes the connection.
    const good = await world.broker.request('GET', callback.toString());
    expect(good.status).toBe(200);
    await waitForStatus(world, connectionId, 'connected');
  });

  test('an unknown provider in the callback path', async () => {
    const bad = await world.broker.request('GET', callback.toString().replace('/callback/oidc?', '/callback/nosuchprovider?'));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('UNKNOWN_PROVIDER');
    expect(await connectionStatus(world, connectionId)).toBe('awaiting_callback');
  });

  test('a replayed state with a different code is refused after success', async () => {
    const good = await world.broker.request('GET', callback.toString());
    expect(good.status).toBe(200);
    await waitForStatus(world, connectionId, 'connected');
    const replay = await world.broker.request('GET', withParam(callback, 'code', 'another-code'));
    expect(replay.status).toBe(400);
    expect(replay.text).toContain('STATE_INVALID');
    expect(await connectionStatus(world, connectionId)).toBe('connected');
  });
});

test('an OAuth 1.0a callback with an unknown oauth_token is refused', async () => {
  const started = await startConnection(world, { provider: 'legacy' });
  const callback = new URL(await consent(world, started.authorizationUrl));
  const bad = await world.broker.request('GET', withParam(callback, 'oauth_token', 'not-the-request-token'));
  expect(bad.status).toBe(400);
  expect(bad.text).toContain('OAUTH_TOKEN_MISMATCH');
  const noVerifier = await world.broker.request('GET', without(callback, 'oauth_verifier'));
  expect(noVerifier.status).toBe(400);
  expect(await connectionStatus(world, started.connectionId)).toBe('awaiting_callback');
  const good = await world.broker.request('GET', callback.toString());
  expect(good.status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});
