/**
 * DPoP (RFC 9449) end to end against oidc-provider with DPoP nonces required, for clients whose
 * access tokens must be DPoP-bound: the code exchange, the refresh and every proxied call carry a
 * proof of the connection's own key, and the API that checks them is oidc-provider's userinfo
 * endpoint, which refuses a bound token presented without (or with the wrong) proof.
 */
import { generateKeyPairSync, createHash, randomUUID, sign } from 'node:crypto';
import { completeConsent } from '../support/oidc/complete-consent';
import { DpopResourceServer, startDpopResourceServer } from '../support/oidc/dpop-resource-server';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { brokerOidcClient, CLIENT_KEY, OPERATOR_KEY, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
let api: DpopResourceServer;
let issuer = '';

const clientFor = (brokerUrl: string, name: string) => brokerOidcClient(brokerUrl, name, { dpop_bound_access_tokens: true });

beforeAll(async () => {
  api = await startDpopResourceServer({ introspectionUrl: () => `${issuer}/token/introspection`, clientId: 'broker-dpopapi', clientSecret: 'secret-dpopapi' });
  world = await startWorld({
    oidcOptions: { requireDpopNonce: true },
    extraOidcClients: (brokerUrl) => [clientFor(brokerUrl, 'dpop'), clientFor(brokerUrl, 'dpoppar'), clientFor(brokerUrl, 'dpopapi')],
    extraSettings: (_brokerUrl, providers) => {
      issuer = new URL(String(providers.oidc.tokenUrl)).origin;
      const common = (name: string) => ({
        protocol: 'oauth2',
        authorizationUrl: `${issuer}/auth`,
        tokenUrl: `${issuer}/token`,
        revocationUrl: `${issuer}/token/revocation`,
        // The provider's own userinfo endpoint (`/me`) is the API: it checks DPoP proofs.
        apiBaseUrl: issuer,
        defaultScopes: ['openid', 'profile'],
        clientId: `broker-${name}`,
        clientSecret: `secret-${name}`,
        dpop: true,
      });
      return {
        BROKER_PROVIDERS: JSON.stringify({
          ...providers,
          dpop: common('dpop'),
          dpoppar: { ...common('dpoppar'), parUrl: `${issuer}/request`, par: true },
          dpopapi: { ...common('dpopapi'), apiBaseUrl: api.url('/api') },
        }),
      };
    },
  });
});

afterAll(async () => {
  await world?.stop();
  await api?.stop();
});

async function connectDpop(provider: string): Promise<{ connectionId: string; authorizationUrl: string }> {
  const started = await startConnection(world, { provider });
  const callback = await completeConsent(started.authorizationUrl, { account: 'alice', approve: true, redirectUri: `${world.broker.url}/api/callback/${provider}` });
  const answer = await world.broker.request('GET', callback);
  expect([200, 302]).toContain(answer.status);
  await waitForStatus(world, started.connectionId, 'connected');
  return started;
}

async function accessTokenOf(connectionId: string): Promise<{ tokenType: string; accessToken: string }> {
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  return token.json;
}

/** A well-formed proof, but of a key the token is not bound to. */
function foreignProof(method: string, url: string, accessToken: string, nonce?: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${encode({
    jti: randomUUID(),
    htm: method,
    htu: url,
    iat: Math.floor(Date.now() / 1000),
    ath: createHash('sha256').update(accessToken).digest('base64url'),
    ...(nonce ? { nonce } : {}),
  })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

test.each(['dpop', 'dpoppar'])('%s: the token is DPoP-bound, usable through the proxy, and refused at the API without the connection\'s proof', async (provider) => {
  await world.oidc.clearLog();
  const started = await connectDpop(provider);
  const authorizationUrl = new URL(started.authorizationUrl);
  if (provider === 'dpop') expect(authorizationUrl.searchParams.get('dpop_jkt')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  else expect([...authorizationUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);

  const { tokenType, accessToken } = await accessTokenOf(started.connectionId);
  expect(tokenType).toBe('DPoP');
  // The exchange went through the server's nonce challenge (the broker retried with the nonce) or
  // already carried a nonce the broker remembered for this provider; either way it ended with a token.
  const exchanges = (await world.oidc.tokenLog()).filter((entry) => entry.grantType === 'authorization_code');
  expect(exchanges.at(-1)).toEqual(expect.objectContaining({ outcome: 'ok', accessTokenFingerprint: tokenFingerprint(accessToken) }));

  // The API checks the binding: the bare token, the token without a proof, a proof of another key: all refused.
  const me = world.oidc.url('/me');
  expect((await fetch(me, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  expect((await fetch(me, { headers: { authorization: `DPoP ${accessToken}` } })).status).toBe(400);
  const challenge = await fetch(me, { headers: { authorization: `DPoP ${accessToken}`, dpop: foreignProof('GET', me, accessToken) } });
  const nonce = challenge.headers.get('dpop-nonce') ?? undefined;
  const foreign = await fetch(me, { headers: { authorization: `DPoP ${accessToken}`, dpop: foreignProof('GET', me, accessToken, nonce) } });
  expect(foreign.status).toBe(401);
  expect(foreign.headers.get('www-authenticate')).toMatch(/^DPoP .*invalid_token/);

  // Through the proxy: the broker's proof of the connection's key, for this method and URL.
  const proxied = await world.broker.request('GET', `/api/connections/${started.connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(proxied.status).toBe(200);
  expect(proxied.json).toEqual(expect.objectContaining({ sub: 'alice' }));
  // A proof is for one method: the same API by POST needs (and gets) a proof of its own.
  const posted = await world.broker.request('POST', `/api/connections/${started.connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(posted.status).toBe(200);

  // Refresh with the same key: the new token is bound too, and the proxy keeps working.
  const refreshed = await world.broker.request('POST', `/api/connections/${started.connectionId}/refresh`, { key: CLIENT_KEY });
  expect(refreshed.status).toBe(200);
  const renewed = await accessTokenOf(started.connectionId);
  expect(renewed.accessToken).not.toBe(accessToken);
  expect(renewed.tokenType).toBe('DPoP');
  const refreshes = (await world.oidc.tokenLog()).filter((entry) => entry.grantType === 'refresh_token');
  expect(refreshes.at(-1)).toEqual(expect.objectContaining({ outcome: 'ok', accessTokenFingerprint: tokenFingerprint(renewed.accessToken) }));
  expect((await world.broker.request('GET', `/api/connections/${started.connectionId}/proxy/me`, { key: CLIENT_KEY })).status).toBe(200);

  // The private key is a credential: nothing of it in the orchestration's durable history.
  const ops = await world.broker.request('GET', `/api/ops/connections/${started.connectionId}`, { key: OPERATOR_KEY });
  expect(ops.status).toBe(200);
  expect(ops.text).not.toMatch(/privateJwk|dpopKey|"crv"/);

  const revoked = await world.broker.request('DELETE', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(revoked.status).toBe(204);
  const revocations = await world.oidc.revocationLog();
  expect(revocations.at(-1)).toEqual(expect.objectContaining({ outcome: 'ok', tokenTypeHint: 'refresh_token' }));
  expect((await world.broker.request('GET', `/api/connections/${started.connectionId}/proxy/me`, { key: CLIENT_KEY })).status).toBe(410);
});

test('an API with nonces of its own: the first proof is challenged and retried once with its nonce, which is then remembered for every connection of the provider', async () => {
  const first = await connectDpop('dpopapi');
  const proxy = (connectionId: string, method: string) =>
    world.broker.request(method, `/api/connections/${connectionId}/proxy/things`, { key: CLIENT_KEY, ...(method === 'POST' ? { body: { a: 1 } } : {}) });

  api.log.length = 0;
  const answer = await proxy(first.connectionId, 'GET');
  expect(answer.status).toBe(200);
  expect(answer.json).toEqual({ sub: 'alice', method: 'GET' });
  expect(api.log.map((entry) => entry.outcome)).toEqual(['nonce needed', 'ok']);

  api.log.length = 0;
  expect((await proxy(first.connectionId, 'POST')).status).toBe(200);
  const second = await connectDpop('dpopapi');
  expect((await proxy(second.connectionId, 'DELETE')).status).toBe(200);
  expect(api.log).toEqual([
    { method: 'POST', path: '/api/things', outcome: 'ok' },
    { method: 'DELETE', path: '/api/things', outcome: 'ok' },
  ]);
});
