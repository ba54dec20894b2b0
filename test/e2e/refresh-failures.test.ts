/**
 * Refresh failures on 5-second tokens: a provider 5xx is retried while the last good token is still
 * served; invalid_grant ends in reauth_required.
 */
import { eventually } from './support/broker-host';
import { CLIENT_KEY, connect, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 5 });
});
afterAll(async () => {
  await world?.stop();
});

test('a provider 5xx during refresh is retried, the connection stays connected and the last good token is served', async () => {
  const connectionId = await connect(world, 'oidc');
  const good = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  await world.oidc.setFault({ token: { status: 503, times: 1 } });

  await eventually(async () => {
    const failed = (await world.oidc.tokenLog()).filter((e) => e.outcome === 'fault:503');
    return failed.length >= 1 ? true : undefined;
  }, 20_000, 100);
  const during = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(during.json.status).toMatch(/^(connected|refreshing)$/);

  // Retried with backoff: a later refresh succeeds and a fresh token is served.
  await eventually(async () => {
    const log = await world.oidc.tokenLog();
    const ok = log.filter((e) => e.grantType === 'refresh_token' && e.outcome === 'ok');
    return ok.length >= 1 ? true : undefined;
  }, 30_000, 200);
  const after = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(after.status).toBe(200);
  expect(after.json.accessToken).not.toBe(good.json.accessToken);
  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json.status).toMatch(/^(connected|refreshing)$/);
  const invalid = (await world.oidc.tokenLog()).filter((e) => e.outcome === 'invalid_grant');
  expect(invalid).toEqual([]);
  // Stop this connection's refresh loop so the next test's injected fault reaches its own connection.
  expect((await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
});

test('invalid_grant on refresh makes the connection reauth_required and its token unavailable', async () => {
  const connectionId = await connect(world, 'oidcpost');
  await world.oidc.setFault({ token: { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'grant revoked' }), contentType: 'application/json', times: 1 } });
  await waitForStatus(world, connectionId, 'reauth_required', 30_000);
  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json.error.code).toBe('OAUTH_INVALID_GRANT');
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(409);
  expect(token.json.error.code).toBe('CONNECTION_NOT_CONNECTED');
});
