/**
 * Counting failed refreshes and where a refreshed token's expiry came from: real tables, the
 * recording server as token endpoint, a fake clock that skips the days.
 */
import { DEFAULT_REFRESH_FAILURE_SPAN_MS } from '../../src/domain/refresh-attempts';
import { refreshCredentials } from '../../src/services/refresh';
import { CLIENT, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();
const HOUR_MS = 3600_000;

async function refresh(world: World, connectionId: string, expectedVersion = 1) {
  return refreshCredentials(world.runtime, { connectionId, clientId: CLIENT, expectedVersion });
}

async function rowOf(world: World, connectionId: string) {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored) };
}

describe('refresh attempts', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when refreshes keep failing transiently, then they are counted from the first; after 4 days the connection is reauth_required (REFRESH_EXHAUSTED) and keeps its credentials', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 503, body: '' });
    const first = world.clock.now().toISOString();
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'transient' });
    world.clock.advance(DEFAULT_REFRESH_FAILURE_SPAN_MS - HOUR_MS);
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'transient' });
    expect((await rowOf(world, connection.connectionId)).connection).toMatchObject({
      status: 'connected',
      refreshAttempts: { failures: 2, firstFailureAt: first, lastFailureAt: world.clock.now().toISOString() },
    });

    world.clock.advance(HOUR_MS);
    expect(await refresh(world, connection.connectionId)).toEqual({ outcome: 'reauth_required', errorCode: 'REFRESH_EXHAUSTED' });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'reauth_required', error: { code: 'REFRESH_EXHAUSTED' }, refreshAttempts: { failures: 3, firstFailureAt: first } });
    expect(row.connection.error?.message).toContain(first);
    // Kept so that DELETE can still revoke the grant at the provider.
    expect(row.credentials).toMatchObject({ refreshToken: 'rt-1' });
  });

  it('when BROKER_REFRESH_FAILURE_SPAN_SECONDS is shorter, then exhaustion comes after that span', async () => {
    world.runtime.settings.refreshFailureSpanSeconds = 60;
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 503, body: '' });
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'transient' });
    world.clock.advance(60_000);
    expect(await refresh(world, connection.connectionId)).toEqual({ outcome: 'reauth_required', errorCode: 'REFRESH_EXHAUSTED' });
  });

  it('when a refresh succeeds after failures, then the count is cleared and the outcome says recovered (once)', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 503, body: '' });
    await refresh(world, connection.connectionId);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 1800 }));
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'refreshed', recovered: true });
    const again = await refresh(world, connection.connectionId, 2);
    expect(again).toMatchObject({ outcome: 'refreshed' });
    expect(again).not.toHaveProperty('recovered');
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection.refreshAttempts).toBeUndefined();
    expect(row.connection).toMatchObject({ status: 'connected', expiresAtSource: 'expires_in' });
  });

  it('when the refresh answer states no lifetime, then the expiry is the fallback and says so', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', refresh_token: 'rt-2' }));
    expect(await refresh(world, connection.connectionId)).toMatchObject({ outcome: 'refreshed', expiresAt: new Date(world.clock.ms + HOUR_MS).toISOString() });
    expect((await rowOf(world, connection.connectionId)).connection).toMatchObject({ expiresAtSource: 'fallback' });
  });
});
