/**
 * PAR (RFC 9126) end to end against oidc-provider started to accept authorization requests only
 * when pushed: a provider defined by its issuer uses PAR because the metadata requires it; one
 * with explicit endpoints uses it because its definition says `par: true`.
 */
import { completeConsent } from '../support/oidc/complete-consent';
import { brokerOidcClient, CLIENT_KEY, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;

beforeAll(async () => {
  world = await startWorld({
    oidcOptions: { requirePar: true },
    extraOidcClients: (brokerUrl) => [brokerOidcClient(brokerUrl, 'pushed'), brokerOidcClient(brokerUrl, 'explicitpar')],
    extraSettings: (_brokerUrl, providers) => {
      const issuer = new URL(String(providers.oidc.tokenUrl)).origin;
      const common = (name: string) => ({ protocol: 'oauth2', apiBaseUrl: `${issuer}/api`, defaultScopes: ['openid', 'read'], clientId: `broker-${name}`, clientSecret: `secret-${name}` });
      return {
        BROKER_PROVIDERS: JSON.stringify({
          ...providers,
          pushed: { ...common('pushed'), issuer },
          explicitpar: { ...common('explicitpar'), authorizationUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, parUrl: `${issuer}/request`, par: true },
        }),
      };
    },
  });
});

afterAll(async () => {
  await world?.stop();
});

test.each(['pushed', 'explicitpar'])('%s: the browser gets only client_id and request_uri, and the connection completes', async (provider) => {
  const started = await startConnection(world, { provider });
  const url = new URL(started.authorizationUrl);
  expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);

  const callback = await completeConsent(started.authorizationUrl, { account: 'alice', approve: true, redirectUri: `${world.broker.url}/api/callback/${provider}` });
  const answer = await world.broker.request('GET', callback);
  expect([200, 302]).toContain(answer.status);
  await waitForStatus(world, started.connectionId, 'connected');
  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.json.accessToken}` } });
  expect(me.status).toBe(200);
});

test('a provider that pushes nothing is refused by this server: PAR is what made the others work', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const callback = new URL(await completeConsent(started.authorizationUrl, { account: 'alice', approve: true }));
  expect(callback.searchParams.get('error')).toBe('invalid_request');
  expect(callback.searchParams.get('error_description')).toMatch(/Pushed Authorization Request must be used/);
});
