/**
 * Discovery, who connected, and unstated lifetimes, end to end on the local host against
 * oidc-provider answering without `expires_in`: a provider defined by its issuer alone connects,
 * names the upstream account and takes its expiry from introspection; an ID Token the configured
 * keys did not sign fails the exchange and nothing is stored.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { brokerOidcClient, CLIENT_KEY, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
let foreignKeys: Server;

beforeAll(async () => {
  // Someone else's keys, served where the "forged" provider says its JWKS is.
  const { publicKey } = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
  const jwk = { ...(await webcrypto.subtle.exportKey('jwk', publicKey)), kid: 'foreign', use: 'sig', alg: 'RS256' };
  foreignKeys = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => foreignKeys.listen(0, '127.0.0.1', resolve));
  const foreignJwks = `http://127.0.0.1:${(foreignKeys.address() as AddressInfo).port}/jwks`;

  world = await startWorld({
    oidcOptions: { omitExpiresIn: true },
    extraOidcClients: (brokerUrl) => [brokerOidcClient(brokerUrl, 'discovered'), brokerOidcClient(brokerUrl, 'forged')],
    extraSettings: (_brokerUrl, providers) => {
      const issuer = new URL(String(providers.oidc.tokenUrl)).origin;
      const byIssuer = (name: string) => ({
        protocol: 'oauth2', issuer, apiBaseUrl: `${issuer}/api`, defaultScopes: ['openid', 'profile', 'email', 'read'],
        clientId: `broker-${name}`, clientSecret: `secret-${name}`,
      });
      return {
        BROKER_PROVIDERS: JSON.stringify({
          ...providers,
          discovered: { ...byIssuer('discovered'), deprecatedAfter: '2026-12-31', successor: 'oidc' },
          forged: { ...byIssuer('forged'), jwksUrl: foreignJwks },
        }),
      };
    },
  });
});

afterAll(async () => {
  await world?.stop();
  foreignKeys?.closeAllConnections();
  await new Promise((resolve) => foreignKeys?.close(resolve));
});

async function completeCallback(started: { authorizationUrl: string }) {
  const callback = await consent(world, started.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  expect([200, 302]).toContain(answer.status);
}

test('a provider defined by its issuer alone connects; the connection names who connected and where its expiry came from', async () => {
  const started = await startConnection(world, { provider: 'discovered' });
  const authorization = new URL(started.authorizationUrl);
  expect(`${authorization.origin}${authorization.pathname}`).toBe(world.oidc.url('/auth'));
  expect(authorization.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  await completeCallback(started);
  await waitForStatus(world, started.connectionId, 'connected');

  const connection = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(connection.json).toMatchObject({
    status: 'connected',
    account: { issuer: world.oidc.issuer, subject: 'alice', displayName: 'Test user alice', email: 'alice@users.example' },
    expiresAtSource: 'introspection',
    providerDeprecation: { deprecatedAfter: '2026-12-31', successor: 'oidc' },
  });
  const listed = await world.broker.request('GET', '/api/connections?provider=discovered', { key: CLIENT_KEY });
  expect(listed.json.items[0]).toMatchObject({ providerDeprecation: { deprecatedAfter: '2026-12-31' } });
  // updatedAt is taken before the exchange; the provider's exp counts from its own issue time, a moment later.
  const lifetimeS = (Date.parse(connection.json.expiresAt) - Date.parse(connection.json.updatedAt)) / 1000;
  expect(lifetimeS).toBeGreaterThan(3000);
  expect(lifetimeS).toBeLessThanOrEqual(3600 + 5);

  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.json.accessToken}` } });
  expect(me.status).toBe(200);
});

test('a provider without an issuer names no account, and its unstated lifetime is the fallback', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  expect(new URL(started.authorizationUrl).searchParams.has('nonce')).toBe(false);
  await completeCallback(started);
  await waitForStatus(world, started.connectionId, 'connected');
  const connection = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(connection.json).toMatchObject({ expiresAtSource: 'fallback' });
  expect(connection.json).not.toHaveProperty('account');
  expect(connection.json).not.toHaveProperty('providerDeprecation');
});

test('when the ID Token is not signed by the keys the provider is configured with, then the exchange fails with ID_TOKEN_INVALID and nothing is stored', async () => {
  const started = await startConnection(world, { provider: 'forged' });
  await completeCallback(started);
  await waitForStatus(world, started.connectionId, 'failed');
  const connection = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
  expect(connection.json).toMatchObject({ status: 'failed', error: { code: 'ID_TOKEN_INVALID' } });
  expect(connection.json).not.toHaveProperty('account');
  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(409);
});
