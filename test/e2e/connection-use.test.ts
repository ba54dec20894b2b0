/**
 * Using a connection once it is connected: forced refresh, reauthorization of the same connection
 * id, and revocation (at the provider and at the broker), against real providers on the local host.
 */
import { TableClient } from '@azure/data-tables';
import { createKeyring, envelopeKeyId, openJson } from '../../src/crypto';
import { connectionInstanceId } from '../../src/domain/connection';
import { spreadPartitionKey } from '../../src/storage/connection-keys';
import type { OAuth2Credentials } from '../../src/storage/credentials';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { CLIENT_KEY, connect, consent, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(90_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 3600 });
});
afterAll(async () => {
  await world?.stop();
});

const get = (route: string) => world.broker.request('GET', route, { key: CLIENT_KEY });
const post = (route: string) => world.broker.request('POST', route, { key: CLIENT_KEY });

/** What the broker holds sealed in its row, opened with the world's key (the test plays the key owner). */
async function storedCredentials(connectionId: string): Promise<OAuth2Credentials> {
  const table = TableClient.fromConnectionString(world.azurite.connectionString, 'BrokerConnections', { allowInsecureConnection: true });
  const entity = await table.getEntity<{ credentials: string }>(spreadPartitionKey('app1', connectionId), connectionId);
  const keyring = createKeyring({ keyId: envelopeKeyId(entity.credentials), key: Buffer.from(world.encryptionKey, 'base64') });
  return openJson<OAuth2Credentials>(entity.credentials, keyring, connectionInstanceId('app1', connectionId));
}

/** Calls the provider's token endpoint directly, as the broker's client would. */
function refreshAtProvider(refreshToken: string) {
  return fetch(world.oidc.url('/token'), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('broker:broker-secret-basic').toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
}

function introspect(token: string) {
  return fetch(world.oidc.url('/token/introspection'), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('broker:broker-secret-basic').toString('base64')}`,
    },
    body: new URLSearchParams({ token }).toString(),
  }).then((r) => r.json() as Promise<{ active: boolean }>);
}

test('POST …/refresh forces one refresh and answers with the refreshed connection', async () => {
  const connectionId = await connect(world, 'oidc');
  const before = await get(`/api/connections/${connectionId}`);
  const oldToken = (await get(`/api/connections/${connectionId}/token`)).json.accessToken;
  const refreshesBefore = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token').length;

  const refreshed = await post(`/api/connections/${connectionId}/refresh`);

  expect(refreshed.status).toBe(200);
  expect(refreshed.json).toMatchObject({ connectionId, status: 'connected', provider: 'oidc' });
  expect(refreshed.json.lastRefreshedAt).not.toBeNull();
  expect(Date.parse(refreshed.json.updatedAt)).toBeGreaterThan(Date.parse(before.json.updatedAt));
  const refreshes = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token');
  expect(refreshes.length - refreshesBefore).toBe(1);
  const newToken = (await get(`/api/connections/${connectionId}/token`)).json.accessToken;
  expect(newToken).not.toBe(oldToken);
  expect(refreshes[refreshes.length - 1].accessTokenFingerprint).toBe(tokenFingerprint(newToken));
});

test('POST …/reauthorize gives a new authorization URL for the same id; consenting again connects it with a new token', async () => {
  const connectionId = await connect(world, 'oidc');
  const oldToken = (await get(`/api/connections/${connectionId}/token`)).json.accessToken;

  const again = await post(`/api/connections/${connectionId}/reauthorize`);

  expect(again.status).toBe(200);
  expect(again.json).toMatchObject({ connectionId, status: 'awaiting_callback' });
  expect(again.json.authorizationUrl).toMatch(new RegExp(`^${world.oidc.url('/auth')}\\?`));
  await waitForStatus(world, connectionId, 'awaiting_callback');
  // While it waits for consent, the old token is no longer handed out (not even from a cache).
  const waiting = await get(`/api/connections/${connectionId}/token`);
  expect(waiting.status).toBe(409);
  expect(waiting.json.error.code).toBe('CONNECTION_NOT_CONNECTED');
  const callback = await consent(world, again.json.authorizationUrl);
  const landed = await world.broker.request('GET', callback);
  expect([200, 302]).toContain(landed.status);
  await waitForStatus(world, connectionId, 'connected');
  const token = await get(`/api/connections/${connectionId}/token`);
  expect(token.status).toBe(200);
  expect(token.json.accessToken).not.toBe(oldToken);
  const list = await get('/api/connections?provider=oidc');
  expect(list.json.items.filter((c: { connectionId: string }) => c.connectionId === connectionId)).toHaveLength(1);
});

test('DELETE revokes at the provider, is idempotent, and the broker answers 410 CONNECTION_REVOKED afterwards', async () => {
  const connectionId = await connect(world, 'oidc');
  const accessToken = (await get(`/api/connections/${connectionId}/token`)).json.accessToken;
  const { refreshToken } = await storedCredentials(connectionId);
  expect(refreshToken).toBeTruthy();
  expect((await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(200);
  expect((await introspect(accessToken)).active).toBe(true);

  const first = await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  const second = await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY });

  expect(first.status).toBe(204);
  expect(second.status).toBe(204);
  const revocations = (await world.oidc.revocationLog()).filter((e) => e.tokenFingerprint === tokenFingerprint(refreshToken!));
  expect(revocations).toHaveLength(1);
  expect(revocations[0]).toMatchObject({ outcome: 'ok', clientId: 'broker', tokenTypeHint: 'refresh_token' });
  // The provider no longer honours either token.
  const refreshed = await refreshAtProvider(refreshToken!);
  expect(refreshed.status).toBe(400);
  expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
  expect((await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  expect((await introspect(accessToken)).active).toBe(false);

  const view = await get(`/api/connections/${connectionId}`);
  expect(view.json.status).toBe('revoked');
  for (const answer of [await get(`/api/connections/${connectionId}/token`), await get(`/api/connections/${connectionId}/proxy/echo/after-revoke`)]) {
    expect(answer.status).toBe(410);
    expect(answer.json.error.code).toBe('CONNECTION_REVOKED');
  }
  expect((await world.oidc.resourceLog()).some((e) => e.path === '/api/echo/after-revoke')).toBe(false);
});

test('an OAuth 1.0a connection is revoked at the broker: its token and proxy answer 410', async () => {
  const connectionId = await connect(world, 'legacy');
  expect((await get(`/api/connections/${connectionId}/proxy/ping`)).status).toBe(200);
  expect((await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
  expect((await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
  expect((await get(`/api/connections/${connectionId}`)).json.status).toBe('revoked');
  const seen = (await world.oauth1.log()).length;
  for (const answer of [await get(`/api/connections/${connectionId}/token`), await get(`/api/connections/${connectionId}/proxy/ping`)]) {
    expect(answer.status).toBe(410);
    expect(answer.json.error.code).toBe('CONNECTION_REVOKED');
  }
  expect((await world.oauth1.log()).length).toBe(seen);
});
