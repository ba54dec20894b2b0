/**
 * The token service in-process: real tables, the recording server as token endpoint, a fake clock
 * (a token becomes due by advancing it) and a fake orchestration that runs the real refresh activity
 * when the refresh event reaches it.
 */
import { refreshMarginMs } from '../../src/domain/refresh-policy';
import { Events, Orchestrations } from '../../src/durable/names';
import { forceRefresh, getToken, TOKEN_TIMINGS } from '../../src/services/token';
import { CLIENT, orchestrateWithActivities, rejection, running, seedConnected, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();
const LIFETIME_S = 3600;

function refreshRequests(world: World) {
  return tokenRequests(world).filter((r) => r.body.includes('grant_type=refresh_token'));
}

/** Moves the clock to where a reader must refresh (inside the margin, token still valid). */
function makeDue(world: World): void {
  world.clock.advance(LIFETIME_S * 1000 - refreshMarginMs(0, LIFETIME_S * 1000) + 1_000);
}

let world: World;
beforeEach(async () => {
  world = await fixture.world();
  orchestrateWithActivities(world);
  world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: LIFETIME_S, refresh_token: 'rt-2' }));
});

describe('getToken', () => {
  it('when the token is fresh, then it is served without asking the orchestration, and then from the cache until its TTL', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toEqual({
      tokenType: 'Bearer',
      accessToken: 'at-1',
      expiresAt: connection.expiresAt,
      scopes: ['read'],
    });
    // Changed behind the service's back: the cache answers until its TTL ends, then storage does.
    const stored = await world.runtime.connections.require(CLIENT, connection.connectionId);
    await world.runtime.connections.save(stored, { ...stored.connection, status: 'revoked' }, { credentials: null });
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' });
    world.clock.advance(TOKEN_TIMINGS.cacheTtlMs);
    expect((await rejection(getToken(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_REVOKED');
    expect(world.durable.raised).toEqual([]);
  });

  it('when the token is due, then the orchestration is asked once and the refreshed token is served', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    makeDue(world);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
    expect(world.durable.raisedOf(Events.Refresh).map((r) => r.payload)).toEqual([{ seenVersion: 1 }]);
    const sent = refreshRequests(world);
    expect(sent).toHaveLength(1);
    expect(new URLSearchParams(sent[0].body).get('refresh_token')).toBe('rt-1');
    expect((await world.runtime.connections.require(CLIENT, connection.connectionId)).connection.credentialsVersion).toBe(2);
  });

  it('when many readers find the token due at once, then they share one wait and one refresh', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    makeDue(world);
    const views = await Promise.all(Array.from({ length: 5 }, () => getToken(world.runtime, CLIENT, connection.connectionId)));
    expect(views.map((v) => ('accessToken' in v ? v.accessToken : ''))).toEqual(['at-2', 'at-2', 'at-2', 'at-2', 'at-2']);
    expect(world.durable.raisedOf(Events.Refresh)).toHaveLength(1);
    expect(refreshRequests(world)).toHaveLength(1);
  });

  it('when the connection is refreshing, then the reader waits for the new version even though its token is fresh', async () => {
    const { connection } = await seedConnected(world, { status: 'refreshing' });
    running(world, connection.instanceId);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
  });

  it('when the refresh event is lost, then it is raised again on the clock and the refresh still happens', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.durable.dropNext = 1;
    makeDue(world);
    const before = world.clock.ms;
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
    expect(world.durable.raisedOf(Events.Refresh)).toHaveLength(2);
    expect(world.clock.ms - before).toBeGreaterThanOrEqual(TOKEN_TIMINGS.reraiseEveryMs);
    expect(refreshRequests(world)).toHaveLength(1);
  });

  it('when the task hub cannot take the event right now, then the reader keeps waiting and raises again later', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.durable.failNextRaises = 1;
    makeDue(world);
    const before = world.clock.ms;
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
    expect(world.clock.ms - before).toBeGreaterThanOrEqual(TOKEN_TIMINGS.reraiseEveryMs);
    expect(world.durable.raisedOf(Events.Refresh)).toHaveLength(1);
  });

  it('when no orchestration runs, then the maintain phase is started again and refreshes at once', async () => {
    const { connection } = await seedConnected(world);
    makeDue(world);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
    expect(world.durable.started).toEqual([
      {
        name: Orchestrations.Connection,
        instanceId: connection.instanceId,
        input: {
          phase: 'maintain',
          connectionId: connection.connectionId,
          clientId: CLIENT,
          provider: 'acme',
          protocol: 'oauth2',
          credentialsVersion: 1,
          issuedAt: connection.createdAt,
          expiresAt: connection.expiresAt,
          failures: 0,
          retryAt: world.clock.now().toISOString(),
          cycle: 0,
        },
      },
    ]);
  });

  it('when the orchestration never refreshes, then REFRESH_TIMEOUT after the wait, measured on the clock', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.durable.onEvent = {};
    makeDue(world);
    const before = world.clock.ms;
    const error = await rejection(getToken(world.runtime, CLIENT, connection.connectionId));
    expect(error).toMatchObject({ code: 'REFRESH_TIMEOUT', transient: true });
    expect(world.clock.ms - before).toBeGreaterThanOrEqual(TOKEN_TIMINGS.refreshWaitMs);
    // Raised at 0 s and again every reraiseEveryMs up to the deadline, in case one was dropped.
    expect(world.durable.raisedOf(Events.Refresh)).toHaveLength(TOKEN_TIMINGS.refreshWaitMs / TOKEN_TIMINGS.reraiseEveryMs + 1);
  });

  it('when the orchestration has picked the request up (the row is refreshing), then the reader does not raise it again', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.durable.onEvent[Events.Refresh] = async () => {
      // A refresh that hangs at the provider: marked, never finished.
      const stored = await world.runtime.connections.require(CLIENT, connection.connectionId);
      await world.runtime.connections.save(stored, { ...stored.connection, status: 'refreshing' });
    };
    makeDue(world);
    expect((await rejection(getToken(world.runtime, CLIENT, connection.connectionId))).code).toBe('REFRESH_TIMEOUT');
    expect(world.durable.raisedOf(Events.Refresh)).toHaveLength(1);
  });

  it('when the refresh fails transiently while the old token is still valid, then the old token is served', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith(tokenAnswer({ error: 'temporarily_unavailable' }, 503));
    makeDue(world);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' });
    const stored = await world.runtime.connections.require(CLIENT, connection.connectionId);
    expect(stored.connection).toMatchObject({ status: 'connected', credentialsVersion: 1, error: { code: 'PROVIDER_UNAVAILABLE' } });
  });

  it('when the token has expired and the refresh fails transiently, then a transient PROVIDER_UNAVAILABLE, never the dead token', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith(tokenAnswer({ error: 'temporarily_unavailable' }, 503));
    world.clock.advance(LIFETIME_S * 1000);
    const error = await rejection(getToken(world.runtime, CLIENT, connection.connectionId));
    expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', transient: true, retryAfterSeconds: 5 });
  });

  it('when the connection is not connected, then CONNECTION_NOT_CONNECTED with its status', async () => {
    const { connection } = await seedConnected(world, { status: 'reauth_required' });
    const error = await rejection(getToken(world.runtime, CLIENT, connection.connectionId));
    expect(error).toMatchObject({ code: 'CONNECTION_NOT_CONNECTED', details: { status: 'reauth_required' } });
  });

  it('when the connection was revoked, then CONNECTION_REVOKED', async () => {
    const { connection } = await seedConnected(world, { status: 'revoked' });
    expect((await rejection(getToken(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_REVOKED');
  });

  it('when another client asks, then CONNECTION_NOT_FOUND', async () => {
    const { connection } = await seedConnected(world);
    expect((await rejection(getToken(world.runtime, 'someone-else', connection.connectionId))).code).toBe('CONNECTION_NOT_FOUND');
  });

  it('when the token has no refresh token, then it is served while valid without any refresh, and refused once expired', async () => {
    const { connection } = await seedConnected(world, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' } });
    running(world, connection.instanceId);
    makeDue(world);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' });
    world.clock.advance(refreshMarginMs(0, LIFETIME_S * 1000));
    const error = await rejection(getToken(world.runtime, CLIENT, connection.connectionId));
    expect(error.code).toBe('CONNECTION_NOT_CONNECTED');
    expect(world.durable.raised).toEqual([]);
    expect(refreshRequests(world)).toEqual([]);
  });

  it('when the provider is marked refreshable: false, then even a refresh token starts no refresh', async () => {
    const { connection } = await seedConnected(world, { provider: 'longlived' });
    running(world, connection.instanceId);
    makeDue(world);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' });
    expect(world.durable.raised).toEqual([]);
    expect((await rejection(forceRefresh(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_NOT_CONNECTED');
  });
});

describe('forceRefresh', () => {
  it('when forced on a fresh token, then it answers with the newer version and the cache no longer serves the old token', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    await getToken(world.runtime, CLIENT, connection.connectionId); // cached
    const refreshed = await forceRefresh(world.runtime, CLIENT, connection.connectionId);
    expect(refreshed).toMatchObject({ status: 'connected', credentialsVersion: 2, lastRefreshedAt: world.clock.now().toISOString() });
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-2' });
  });

  it('when the connection has no refresh token, then CONNECTION_NOT_CONNECTED and nothing is raised', async () => {
    const { connection } = await seedConnected(world, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' } });
    running(world, connection.instanceId);
    expect((await rejection(forceRefresh(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_NOT_CONNECTED');
    expect(world.durable.raised).toEqual([]);
  });
});
