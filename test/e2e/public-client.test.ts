/**
 * A public client (`clientAuthMethod: "none"`, RFC 6749 §2.1) end to end against oidc-provider, which
 * registers the broker's client with `token_endpoint_auth_method: none` and so refuses any client
 * authentication: the code exchange, a forced refresh and the revocation all go through with the
 * client id alone and PKCE, and the definition needs no client secret. This is how the broker is a
 * client of an MCP server's authorization server through a Client ID Metadata Document.
 */
import { CLIENT_KEY, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(90_000);

let world: World;
const PUBLIC = 'broker-public';

beforeAll(async () => {
  world = await startWorld({
    extraOidcClients: (brokerUrl) => [
      {
        client_id: PUBLIC,
        token_endpoint_auth_method: 'none' as const,
        redirect_uris: [`${brokerUrl}/api/callback/public`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    extraSettings: (_brokerUrl, providers) => {
      const { clientSecret: _secret, ...oidc } = providers.oidc as Record<string, unknown>;
      return { BROKER_PROVIDERS: JSON.stringify({ ...providers, public: { ...oidc, clientId: PUBLIC, clientAuthMethod: 'none' } }) };
    },
  });
});

afterAll(async () => {
  await world?.stop();
});

test('when the provider is a public client, then it connects, refreshes and revokes with no client secret', async () => {
  const started = await startConnection(world, { provider: 'public' });
  const authorizationUrl = new URL(started.authorizationUrl);
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');

  const callback = await consent(world, started.authorizationUrl);
  expect((await world.broker.request('GET', callback)).status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
  const first = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(first.status).toBe(200);

  const refreshed = await world.broker.request('POST', `/api/connections/${started.connectionId}/refresh`, { key: CLIENT_KEY });
  expect(refreshed.status).toBe(200);
  const second = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(second.json.accessToken).not.toBe(first.json.accessToken);
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${second.json.accessToken}` } });
  expect(me.status).toBe(200);

  expect((await world.broker.request('DELETE', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
  const revocations = (await world.oidc.revocationLog()).filter((entry) => entry.clientId === PUBLIC);
  expect(revocations.map((entry) => entry.outcome)).toEqual(['ok']);

  const grants = (await world.oidc.tokenLog()).filter((entry) => entry.clientId === PUBLIC);
  expect(grants.map((entry) => [entry.grantType, entry.outcome])).toEqual([
    ['authorization_code', 'ok'],
    ['refresh_token', 'ok'],
  ]);
});
