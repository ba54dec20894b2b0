/**
 * Provider sunsets: a connection to a deprecated provider is moved onto its `successor` by
 * POST /connections/{id}/reauthorize {provider}: consent at the successor, the same connection id
 * now on the successor, and the old provider's grant revoked only after the new credentials are stored.
 */
import { completeConsent } from '../support/oidc/complete-consent';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { CLIENT_KEY, connect, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;

beforeAll(async () => {
  world = await startWorld({
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROVIDERS: JSON.stringify({ ...providers, oidcpost: { ...providers.oidcpost, deprecatedAfter: '2026-12-31', successor: 'oidc' } }),
    }),
  });
});

afterAll(async () => {
  await world?.stop();
});

const reauthorize = (connectionId: string, body: Record<string, unknown>) =>
  world.broker.request('POST', `/api/connections/${connectionId}/reauthorize`, { key: CLIENT_KEY, body });

test('when asked for a provider that is not the successor, then 400 PROVIDER_NOT_SUCCESSOR and the connection stays as it was', async () => {
  const deprecated = await connect(world, 'oidcpost');
  const refused = await reauthorize(deprecated, { provider: 'legacy' });
  expect(refused.status).toBe(400);
  expect(refused.json.error.code).toBe('PROVIDER_NOT_SUCCESSOR');
  const current = await connect(world, 'oidc');
  expect((await reauthorize(current, { provider: 'oidcpost' })).json.error.code).toBe('PROVIDER_NOT_SUCCESSOR');
  const view = await world.broker.request('GET', `/api/connections/${deprecated}`, { key: CLIENT_KEY });
  expect(view.json).toEqual(expect.objectContaining({ provider: 'oidcpost', status: 'connected', providerDeprecation: { deprecatedAfter: '2026-12-31', successor: 'oidc' } }));
});

test('reauthorizing onto the successor moves the same connection there; the old grant is revoked after the new token was issued', async () => {
  const connectionId = await connect(world, 'oidcpost');
  const before = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  const oldExchange = (await world.oidc.tokenLog()).filter((entry) => entry.clientId === 'broker-post' && entry.accessTokenFingerprint === tokenFingerprint(before.json.accessToken));
  expect(oldExchange).toHaveLength(1);

  const started = await reauthorize(connectionId, { provider: 'oidc' });
  expect(started.status).toBe(200);
  expect(started.json).toEqual(expect.objectContaining({ connectionId, provider: 'oidc', status: 'awaiting_callback' }));
  expect(new URL(started.json.authorizationUrl).searchParams.get('client_id')).toBe('broker');
  // Until the successor's consent, the connection is still the deprecated provider's.
  expect((await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json.provider).toBe('oidcpost');

  const callback = await completeConsent(started.json.authorizationUrl, { account: 'alice', approve: true });
  expect(new URL(callback).pathname).toBe('/api/callback/oidc');
  expect([200, 302]).toContain((await world.broker.request('GET', callback)).status);
  await waitForStatus(world, connectionId, 'connected');

  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json).toEqual(expect.objectContaining({ connectionId, provider: 'oidc', protocol: 'oauth2', status: 'connected' }));
  expect(view.json).not.toHaveProperty('providerDeprecation');
  const after = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  const newExchange = (await world.oidc.tokenLog()).find((entry) => entry.accessTokenFingerprint === tokenFingerprint(after.json.accessToken));
  expect(newExchange).toEqual(expect.objectContaining({ clientId: 'broker', grantType: 'authorization_code', outcome: 'ok' }));

  const revocation = (await world.oidc.revocationLog()).find((entry) => entry.tokenFingerprint === oldExchange[0].issuedRefreshTokenFingerprint);
  expect(revocation).toEqual(expect.objectContaining({ clientId: 'broker-post', outcome: 'ok', tokenTypeHint: 'refresh_token' }));
  expect(Date.parse(revocation!.at)).toBeGreaterThanOrEqual(Date.parse(newExchange!.at));
  // The old grant is gone at the provider; the new token works, through the proxy too.
  expect((await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${before.json.accessToken}` } })).status).toBe(401);
  const proxied = await world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(proxied.status).toBe(200);
  expect(proxied.json).toEqual(expect.objectContaining({ clientId: 'broker', sub: 'alice' }));
});
