/**
 * The refresh activity's outcomes in-process: real tables, the recording server as token endpoint,
 * a fake clock for the times it records.
 */
import { refreshCredentials } from '../../src/services/refresh';
import { getToken } from '../../src/services/token';
import { CLIENT, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

async function refresh(world: World, connectionId: string) {
  return refreshCredentials(world.runtime, { connectionId, clientId: CLIENT, expectedVersion: 1 });
}

async function rowOf(world: World, connectionId: string) {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored), issuedAt: stored.issuedAt };
}

describe('refreshCredentials', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the provider rotates the refresh token, then the new pair is sealed, the version moves on and the outcome is refreshable', async () => {
    const { connection } = await seedConnected(world);
    world.clock.advance(3_000_000);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-2', scope: 'read' }));
    const nowIso = world.clock.now().toISOString();
    const expiresAt = new Date(world.clock.ms + 1_800_000).toISOString();
    expect(await refresh(world, connection.connectionId)).toEqual({
      outcome: 'refreshed',
      credentialsVersion: 2,
      issuedAt: nowIso,
      expiresAt,
      refreshable: true,
      refreshMarginMs: 60_000,
    });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'connected', credentialsVersion: 2, expiresAt, lastRefreshedAt: nowIso, updatedAt: nowIso });
    expect(row.connection.error).toBeUndefined();
    expect(row.credentials).toEqual({ protocol: 'oauth2', accessToken: 'at-2', tokenType: 'Bearer', refreshToken: 'rt-2' });
    expect(row.issuedAt).toBe(nowIso);
    const [sent] = world.provider.takeRequests();
    expect(Object.fromEntries(new URLSearchParams(sent.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      client_id: 'broker-client',
      client_secret: 'broker-secret',
    });
  });

  it('when the provider keeps the refresh token, then the old one is kept with the new access token', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800 }));
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'refreshed', refreshable: true });
    expect((await rowOf(world, connection.connectionId)).credentials).toMatchObject({ accessToken: 'at-2', refreshToken: 'rt-1' });
  });

  it('when the provider is unavailable, then transient: the last good credentials stay, the status stays connected, the error is recorded', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 503, headers: { 'retry-after': '7' }, body: '' });
    expect(await refresh(world, connection.connectionId)).toEqual({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE', retryAfterSeconds: 7 });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'connected', credentialsVersion: 1, error: { code: 'PROVIDER_UNAVAILABLE', at: world.clock.now().toISOString() } });
    expect(row.credentials).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
  });

  it('when the grant is dead (invalid_grant), then reauth_required and the credentials are erased', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant', error_description: 'revoked' }, 400));
    expect(await refresh(world, connection.connectionId)).toEqual({ outcome: 'reauth_required', errorCode: 'OAUTH_INVALID_GRANT' });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'reauth_required', error: { code: 'OAUTH_INVALID_GRANT', providerError: 'invalid_grant' } });
    expect(row.credentials).toBeUndefined();
  });

  it('when the provider refuses the client, then failed, and the credentials are kept for the operator to inspect', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ error: 'invalid_client' }, 401));
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'failed' });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection.status).toBe('failed');
    expect(row.credentials).toMatchObject({ refreshToken: 'rt-1' });
  });

  it('when the connection was revoked, then gone and nothing is sent', async () => {
    const { connection } = await seedConnected(world, { status: 'revoked' });
    expect(await refresh(world, connection.connectionId)).toEqual({ outcome: 'gone' });
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when the credentials hold no refresh token, or the provider is marked refreshable: false, then gone and nothing is sent', async () => {
    const bare = await seedConnected(world, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' } });
    const longLived = await seedConnected(world, { provider: 'longlived' });
    expect(await refresh(world, bare.connection.connectionId)).toEqual({ outcome: 'gone' });
    expect(await refresh(world, longLived.connection.connectionId)).toEqual({ outcome: 'gone' });
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when a refresh lands, then this process stops serving the cached token', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' });
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-2' }));
    await refresh(world, connection.connectionId);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
  });
});
