/**
 * Client credentials connections (RFC 6749 §4.4) end to end, against oidc-provider's
 * clientCredentials feature: no end user and no callback; the orchestration fetches the first token
 * and fetches a new one before each expires (20-second tokens here); a token endpoint failure keeps
 * the last good token; DELETE revokes it at the provider.
 */
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { CLIENT_KEY, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

const TOKEN_TTL_SECONDS = 20;
const MACHINE_CLIENT = { clientId: 'machine-client', clientSecret: 'machine-secret' };

let world: World;
beforeAll(async () => {
  world = await startWorld({
    accessTokenTtlSeconds: TOKEN_TTL_SECONDS,
    extraOidcClients: () => [{
      client_id: MACHINE_CLIENT.clientId,
      client_secret: MACHINE_CLIENT.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
      scope: 'read write',
    }],
    extraSettings: (_brokerUrl, providers) => {
      const machine = { ...providers.oidc, displayName: 'Test OIDC (machine)', defaultScopes: ['read'], grants: ['client_credentials'], ...MACHINE_CLIENT };
      return { BROKER_PROVIDERS: JSON.stringify({ ...providers, machine, machinebad: { ...machine, clientSecret: 'wrong-secret' } }) };
    },
  });
});
afterAll(async () => {
  await world?.stop();
});

const api = (method: string, route: string, body?: unknown) => world.broker.request(method, route, { key: CLIENT_KEY, body });
const grantsOf = async (outcome: string) => (await world.oidc.tokenLog()).filter((e) => e.grantType === 'client_credentials' && e.outcome === outcome);
const token = async (connectionId: string) => (await api('GET', `/api/connections/${connectionId}/token`)).json as { accessToken: string; expiresAt: string };

async function startMachine(provider = 'machine'): Promise<{ connectionId: string; started: Record<string, unknown> }> {
  const answer = await api('POST', '/api/connections', { provider, grant: 'client_credentials' });
  expect(answer.status).toBe(201);
  return { connectionId: answer.json.connectionId, started: answer.json };
}

test('a client credentials connection is connected without any end user, and its token works directly and through the proxy', async () => {
  const { connectionId, started } = await startMachine();
  expect(started).toEqual(expect.objectContaining({ grant: 'client_credentials', status: 'connected', scopes: ['read'], expiresAt: expect.any(String) }));
  expect(started).not.toHaveProperty('authorizationUrl');

  const view = await api('GET', `/api/connections/${connectionId}`);
  expect(view.json).toEqual(expect.objectContaining({ grant: 'client_credentials', status: 'connected', protocol: 'oauth2', endUserId: null }));
  const issued = await token(connectionId);
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${issued.accessToken}` } });
  expect(await me.json()).toEqual(expect.objectContaining({ clientId: MACHINE_CLIENT.clientId, scope: 'read' }));
  const proxied = await api('GET', `/api/connections/${connectionId}/proxy/me`);
  expect(proxied.status).toBe(200);
  expect(proxied.json.clientId).toBe(MACHINE_CLIENT.clientId);
  expect((await grantsOf('ok')).map((e) => e.accessTokenFingerprint)).toContain(tokenFingerprint(issued.accessToken));
  expect((await api('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
});

test('a new token is fetched with the grant before the current one expires', async () => {
  const { connectionId } = await startMachine();
  const first = await token(connectionId);
  const renewal = await eventually(async () => {
    const fingerprints = (await grantsOf('ok')).filter((e) => e.accessTokenFingerprint !== tokenFingerprint(first.accessToken));
    const next = await token(connectionId);
    return next.accessToken !== first.accessToken && fingerprints.some((e) => e.accessTokenFingerprint === tokenFingerprint(next.accessToken))
      ? { next, at: fingerprints.find((e) => e.accessTokenFingerprint === tokenFingerprint(next.accessToken))!.at }
      : undefined;
  }, (TOKEN_TTL_SECONDS + 10) * 1000, 250);
  // Renewed ahead of time (the margin is half of a 20-second lifetime), by the loop itself.
  expect(Date.parse(renewal.at)).toBeLessThan(Date.parse(first.expiresAt));
  expect(Date.parse(renewal.next.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
  expect((await api('GET', `/api/connections/${connectionId}`)).json.status).toMatch(/^(connected|refreshing)$/);
  expect((await api('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
});

test('a failing token endpoint keeps the last good token, and the next fetch recovers', async () => {
  const { connectionId } = await startMachine();
  const good = await token(connectionId);
  // The loop's renewal and the renewal a reader then asks for both fail.
  await world.oidc.setFault({ token: { status: 503, times: 2 } });
  await eventually(async () => ((await world.oidc.tokenLog()).some((e) => e.outcome === 'fault:503') ? true : undefined), (TOKEN_TTL_SECONDS + 10) * 1000, 100);

  const during = await api('GET', `/api/connections/${connectionId}/token`);
  expect(during.status).toBe(200);
  expect(during.json.accessToken).toBe(good.accessToken);
  const view = await api('GET', `/api/connections/${connectionId}`);
  expect(view.json.status).toMatch(/^(connected|refreshing)$/);

  const recovered = await eventually(async () => {
    const next = await token(connectionId);
    return next?.accessToken && next.accessToken !== good.accessToken ? next : undefined;
  }, 30_000, 250);
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${recovered.accessToken}` } });
  expect(me.status).toBe(200);
  expect((await api('GET', `/api/connections/${connectionId}`)).json).toEqual(expect.objectContaining({ status: 'connected' }));
  expect((await api('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
});

test('DELETE revokes the token at the provider, and the connection then answers 410', async () => {
  const { connectionId } = await startMachine();
  const issued = await token(connectionId);
  expect((await api('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
  await waitForStatus(world, connectionId, 'revoked');

  const revocations = await world.oidc.revocationLog();
  expect(revocations).toContainEqual(expect.objectContaining({ tokenFingerprint: tokenFingerprint(issued.accessToken), tokenTypeHint: 'access_token', outcome: 'ok' }));
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${issued.accessToken}` } });
  expect(me.status).toBe(401);
  expect((await api('GET', `/api/connections/${connectionId}/token`)).json.error.code).toBe('CONNECTION_REVOKED');
  expect((await api('GET', `/api/connections/${connectionId}/proxy/me`)).status).toBe(410);
});

test('a client the provider refuses ends failed with the provider error, and reauthorize does not apply', async () => {
  const { connectionId, started } = await startMachine('machinebad');
  expect(started).toEqual(expect.objectContaining({ status: 'failed', error: expect.objectContaining({ code: 'OAUTH_INVALID_CLIENT' }) }));
  expect((await api('GET', `/api/connections/${connectionId}/token`)).status).toBe(409);
  const again = await api('POST', `/api/connections/${connectionId}/reauthorize`);
  expect(again.status).toBe(400);
  expect(again.json.error.code).toBe('GRANT_NOT_ALLOWED');
});
