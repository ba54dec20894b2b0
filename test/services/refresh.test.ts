/**
 * The refresh activity's outcomes in-process: real tables, the recording server as token endpoint,
 * a fake clock for the times it records.
 */
import type { TableClient } from '@azure/data-tables';
import { refreshCredentials } from '../../src/services/refresh';
import { getToken } from '../../src/services/token';
import { ConnectionsRepository } from '../../src/storage/connections-repo';
import { CLIENT, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

async function refresh(world: World, connectionId: string) {
  return refreshCredentials(world.runtime, { connectionId, clientId: CLIENT, expectedVersion: 1 });
}

/** The same table through another repository: the writes of another process, unseen by this one. */
function anotherProcess(world: World): ConnectionsRepository {
  const mine = world.runtime.connections as ConnectionsRepository;
  return new ConnectionsRepository(mine['table'], mine['sealer']);
}

/** Every storage request the runtime's tables are sent, by table and verb (one request each). */
function countRequests(world: World): () => Record<string, number> {
  const tables: Array<[string, TableClient]> = [
    ['connections', (world.runtime.connections as ConnectionsRepository)['table']],
    ['audit', world.auditStore['table']],
  ];
  const verbs = ['getEntity', 'createEntity', 'updateEntity', 'upsertEntity', 'deleteEntity', 'listEntities', 'submitTransaction'] as const;
  const spies = tables.flatMap(([name, table]) => verbs.map((verb) => [`${name} ${verb}`, jest.spyOn(table, verb)] as const));
  return () => Object.fromEntries(spies.filter(([, spy]) => spy.mock.calls.length > 0).map(([key, spy]) => [key, spy.mock.calls.length]));
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

  it('when this process wrote the row last, then one refresh costs three storage requests: the lease, the new credentials and the audit event, no read', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-2' }));
    const requests = countRequests(world);
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    expect(requests()).toEqual({ 'connections updateEntity': 2, 'audit createEntity': 1 });
    // The next cycle starts from the row this refresh wrote, again without a read.
    world.provider.answerWith(tokenAnswer({ access_token: 'at-3', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-3' }));
    expect(await refreshCredentials(world.runtime, { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 2 })).toMatchObject({ credentialsVersion: 3 });
    expect(requests()).toEqual({ 'connections updateEntity': 4, 'audit createEntity': 2 });
    expect(world.provider.takeRequests().map((r) => new URLSearchParams(r.body).get('refresh_token'))).toEqual(['rt-1', 'rt-2']);
  });

  it('when another process changed the row since this one wrote it, then the lease write is refused, the row is read afresh and the refresh goes on from it', async () => {
    const { connection } = await seedConnected(world);
    const other = anotherProcess(world);
    const theirs = await other.require(CLIENT, connection.connectionId);
    await other.save(theirs, { ...theirs.connection, metadata: { changedBy: 'another process' } });
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-2' }));
    const requests = countRequests(world);
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    expect(requests()).toEqual({ 'connections getEntity': 1, 'connections updateEntity': 3, 'audit createEntity': 1 });
    expect((await rowOf(world, connection.connectionId)).connection).toMatchObject({ credentialsVersion: 2, metadata: { changedBy: 'another process' } });
  });

  it('when another process refreshed or revoked since this one wrote the row, then nothing is sent: the fresh row decides', async () => {
    const refreshed = await seedConnected(world);
    const revoked = await seedConnected(world);
    const other = anotherProcess(world);
    const moved = await other.require(CLIENT, refreshed.connection.connectionId);
    await other.save(moved, { ...moved.connection, credentialsVersion: 2 }, { credentials: { protocol: 'oauth2', accessToken: 'at-x', tokenType: 'Bearer', refreshToken: 'rt-x' } });
    const gone = await other.require(CLIENT, revoked.connection.connectionId);
    await other.save(gone, { ...gone.connection, status: 'revoked' }, { credentials: null });
    expect(await refresh(world, refreshed.connection.connectionId)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    expect(await refresh(world, revoked.connection.connectionId)).toEqual({ outcome: 'gone' });
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when this process wrote more rows than it keeps, then the row written first is forgotten and its refresh reads it again', async () => {
    const mine = world.runtime.connections as ConnectionsRepository;
    const keepingTwo = new ConnectionsRepository(mine['table'], mine['sealer'], undefined, 2);
    world.runtime.connections = keepingTwo;
    const [first, second, third] = [await seedConnected(world), await seedConnected(world), await seedConnected(world)];
    expect(await keepingTwo.lastWritten(CLIENT, first.connection.connectionId)).toBeUndefined();
    expect(await keepingTwo.lastWritten(CLIENT, second.connection.connectionId)).toMatchObject({ etag: second.etag });
    expect(await keepingTwo.lastWritten(CLIENT, third.connection.connectionId)).toMatchObject({ etag: third.etag });
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800, refresh_token: 'rt-2' }));
    const requests = countRequests(world);
    expect(await refresh(world, first.connection.connectionId)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    expect(requests()).toEqual({ 'connections getEntity': 1, 'connections updateEntity': 2, 'audit createEntity': 1 });
  });
});
