/**
 * Incremental authorization end to end (issue 17, item 4): a token read that needs scopes the
 * connection was not granted answers 409 SCOPES_MISSING naming them; reauthorize {scopes} asks the
 * provider for the union, and the same connection id then carries the wider grant.
 */
import { CLIENT_KEY, connect, consent, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

test('When a needed scope is missing, then the token read names it, and reauthorize for it widens the same connection', async () => {
  const connectionId = await connect(world, 'oidc', { scopes: ['openid', 'read'] });
  const tokenRoute = `/api/connections/${connectionId}/token`;

  const enough = await world.broker.request('GET', `${tokenRoute}?scopes=read`, { key: CLIENT_KEY });
  expect(enough.status).toBe(200);
  const missing = await world.broker.request('GET', `${tokenRoute}?scopes=read,write`, { key: CLIENT_KEY });
  expect(missing.status).toBe(409);
  expect(missing.json.error.code).toBe('SCOPES_MISSING');
  expect(missing.json.error.missing).toEqual(['write']);

  const again = await world.broker.request('POST', `/api/connections/${connectionId}/reauthorize`, { key: CLIENT_KEY, body: { scopes: ['write'] } });
  expect(again.status).toBe(200);
  expect(again.json.connectionId).toBe(connectionId);
  const requested = (new URL(again.json.authorizationUrl).searchParams.get('scope') ?? '').split(' ').sort();
  expect(requested).toEqual(['openid', 'read', 'write']);

  const callback = await consent(world, again.json.authorizationUrl);
  expect([200, 302]).toContain((await world.broker.request('GET', callback)).status);
  await waitForStatus(world, connectionId, 'connected');

  const wider = await world.broker.request('GET', `${tokenRoute}?scopes=read,write`, { key: CLIENT_KEY });
  expect(wider.status).toBe(200);
  expect([...wider.json.scopes].sort()).toEqual(['openid', 'read', 'write']);
  // The provider saw the wider grant on the token itself.
  const me = await world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(me.status).toBe(200);
  expect(String(me.json.scope).split(' ')).toEqual(expect.arrayContaining(['read', 'write']));
});

test('When reauthorize carries no body, then it asks again for the granted scopes as before', async () => {
  const connectionId = await connect(world, 'oidc', { scopes: ['openid', 'read'] });
  const again = await world.broker.request('POST', `/api/connections/${connectionId}/reauthorize`, { key: CLIENT_KEY });
  expect(again.status).toBe(200);
  expect((new URL(again.json.authorizationUrl).searchParams.get('scope') ?? '').split(' ').sort()).toEqual(['openid', 'read']);
  const bad = await world.broker.request('POST', `/api/connections/${connectionId}/reauthorize`, { key: CLIENT_KEY, body: { scopes: 'write' } });
  expect(bad.status).toBe(400);
  expect(bad.json.error.field).toBe('scopes');
});
