/**
 * The broker's races in-process (issue 12): one refresh writer per version, refused callbacks that
 * do not kill a pending connection, and a durable client that only says "gone" for a 404. Real
 * tables, a fake clock and durable client, and a token endpoint that rotates refresh tokens.
 */
import { Events, Orchestrations } from '../../src/durable/names';
import { raiseOrStart } from '../../src/durable/client';
import { restartedMaintainPhase } from '../../src/durable/contract';
import { handleCallback } from '../../src/services/callback';
import { exchangeCredentials } from '../../src/services/exchange';
import { refreshCredentials, REFRESH_LEASE_MS } from '../../src/services/refresh';
import type { Runtime } from '../../src/services/runtime';
import { startConnection } from '../../src/services/start-connection';
import { RotatingTokenEndpoint, startRotatingTokenEndpoint } from '../support/rotating-token-endpoint';
import { connectionInstanceId } from '../../src/domain/connection';
import { CLIENT, rejection, rowOfInstance, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

/** The world's runtime with provider `acme` pointed at the rotating endpoint. */
function rotatingRuntime(world: World, endpoint: RotatingTokenEndpoint): Runtime {
  const providers = world.runtime.providers;
  return { ...world.runtime, providers: { ...providers, get: (name) => ({ ...providers.get(name), tokenUrl: endpoint.url }) as ReturnType<typeof providers.get> } };
}

async function credentialsOf(world: World, connectionId: string) {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored) };
}

describe('one refresh writer per credentials version', () => {
  let world: World;
  let endpoint: RotatingTokenEndpoint;
  beforeEach(async () => {
    world = await fixture.world();
  });
  afterEach(async () => {
    await endpoint?.close();
  });

  it('when two refreshes of the same version overlap, then the provider sees one refresh token once and nothing is erased', async () => {
    endpoint = await startRotatingTokenEndpoint({ initial: 'rt-1', reuseDetection: true });
    const runtime = rotatingRuntime(world, endpoint);
    const { connection } = await seedConnected(world);
    const input = { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 1 };

    const gate = endpoint.hold();
    const first = refreshCredentials(runtime, input);
    await gate.arrived;
    // A second refresher (a duplicate activity run, a replaced orchestration) while the first is in flight.
    const second = await refreshCredentials(runtime, input);
    gate.release();

    expect(second).toEqual({ outcome: 'transient', errorCode: 'REFRESH_IN_PROGRESS', retryAfterSeconds: REFRESH_LEASE_MS / 1000 });
    expect(await first).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2, refreshable: true });
    // The second's retry finds the version moved on: it answers from the row and sends nothing.
    expect(await refreshCredentials(runtime, input)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2, refreshable: true });
    expect(endpoint.presented).toEqual(['rt-1']);
    expect(endpoint.valid).toBe('rt-2');
    const row = await credentialsOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'connected', credentialsVersion: 2 });
    expect(row.connection.refreshLease).toBeUndefined();
    expect(row.credentials).toMatchObject({ refreshToken: 'rt-2', accessToken: 'at-2' });
  });

  it('when a refresh was told invalid_grant for a token another writer already rotated away, then the newer credentials stay', async () => {
    endpoint = await startRotatingTokenEndpoint({ initial: 'rt-1', reuseDetection: false });
    const runtime = rotatingRuntime(world, endpoint);
    const { connection } = await seedConnected(world);
    const input = { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 1 };

    const gate = endpoint.hold();
    const slow = refreshCredentials(runtime, input);
    await gate.arrived;
    // Its lease runs out (its host stalled); another writer takes over and rotates rt-1 first.
    world.clock.advance(REFRESH_LEASE_MS + 1);
    expect(await refreshCredentials(runtime, input)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    gate.release();

    // The stalled one's rt-1 is refused now; it must not turn that into reauth_required.
    expect(await slow).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2, refreshable: true });
    const row = await credentialsOf(world, connection.connectionId);
    expect(row.connection.status).toBe('connected');
    expect(row.credentials).toMatchObject({ refreshToken: 'rt-2' });
  });

  it('when a refresh holder died, then after its lease a new refresh takes over', async () => {
    endpoint = await startRotatingTokenEndpoint({ initial: 'rt-1', reuseDetection: true });
    const runtime = rotatingRuntime(world, endpoint);
    const stored = await seedConnected(world);
    const until = new Date(world.clock.ms + 5_000).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, status: 'refreshing', refreshLease: { owner: 'dead-host', until } });
    const input = { connectionId: stored.connection.connectionId, clientId: CLIENT, expectedVersion: 1 };

    expect(await refreshCredentials(runtime, input)).toEqual({ outcome: 'transient', errorCode: 'REFRESH_IN_PROGRESS', retryAfterSeconds: 5 });
    expect(endpoint.presented).toEqual([]);
    world.clock.advance(5_001);
    expect(await refreshCredentials(runtime, input)).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2 });
    expect(endpoint.presented).toEqual(['rt-1']);
  });

  it('when the grant really is dead (same version, invalid_grant), then the connection needs reauthorization', async () => {
    endpoint = await startRotatingTokenEndpoint({ initial: 'rt-other', reuseDetection: false });
    const runtime = rotatingRuntime(world, endpoint);
    const { connection } = await seedConnected(world);
    const result = await refreshCredentials(runtime, { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 1 });
    expect(result).toEqual({ outcome: 'reauth_required', errorCode: 'OAUTH_INVALID_GRANT' });
    const row = await credentialsOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'reauth_required', credentialsVersion: 1 });
    expect(row.credentials).toBeUndefined();
  });

  it('when the row records a newer authorization attempt, then the refresh tells the loop to follow it and sends nothing', async () => {
    endpoint = await startRotatingTokenEndpoint({ initial: 'rt-1', reuseDetection: true });
    const runtime = rotatingRuntime(world, endpoint);
    const stored = await seedConnected(world);
    const deadline = new Date(world.clock.ms + 600_000).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, status: 'awaiting_callback', authorizationId: 'auth-new', authorizationExpiresAt: deadline });
    const result = await refreshCredentials(runtime, { connectionId: stored.connection.connectionId, clientId: CLIENT, expectedVersion: 1 });
    expect(result).toEqual({ outcome: 'reauthorizing', authorizationId: 'auth-new', deadline });
    expect(endpoint.presented).toEqual([]);
  });
});

describe('a refused callback does not kill a pending connection', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  /** The fake orchestration runs the exchange for each callback event, as the real one does. */
  function exchangeOnCallback(): void {
    world.durable.onEvent[Events.Callback] = async (instanceId, payload) => {
      const { authorizationId } = payload as { authorizationId: string };
      const { connection } = (await rowOfInstance(world.runtime, instanceId))!;
      await exchangeCredentials(world.runtime, { connectionId: connection.connectionId, clientId: CLIENT, authorizationId });
    };
  }

  it('when a forged code is refused by the provider, then the callback answers 400, the same forgery is refused at once, and the genuine callback connects', async () => {
    const started = await startConnection(world.runtime, CLIENT, { provider: 'acme' });
    running(world, connectionInstanceId(CLIENT, started.connectionId));
    exchangeOnCallback();
    const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';

    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant', error_description: 'unknown code' }, 400));
    const forged = await rejection(handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'forged', state })));
    expect(forged.code).toBe('CALLBACK_REJECTED');
    expect((await world.runtime.connections.require(CLIENT, started.connectionId)).connection.status).toBe('awaiting_callback');

    const tokenRequestsBefore = world.provider.takeRequests().length;
    expect((await rejection(handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'forged', state })))).code).toBe('CALLBACK_REJECTED');
    expect(world.provider.takeRequests()).toEqual([]);
    expect(tokenRequestsBefore).toBe(1);

    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
    const answer = await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'genuine', state }));
    expect(answer).toMatchObject({ connectionId: started.connectionId, status: 'connected' });
  });
});

describe('only a 404 means the orchestration is gone', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the status cannot be read (the task hub answers 500), then nothing is started over the possibly running instance', async () => {
    const stored = await seedConnected(world);
    running(world, stored.connection.instanceId);
    world.durable.failNextStatuses = 1;
    const outcome = raiseOrStart(world.runtime.durable, stored.connection.instanceId, Events.Refresh, { seenVersion: 1 }, () =>
      restartedMaintainPhase(stored.connection, stored.issuedAt ?? stored.connection.updatedAt, world.clock.now()),
    );
    await expect(outcome).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', transient: true });
    expect(world.durable.started.filter((s) => s.name === Orchestrations.Connection)).toEqual([]);
  });

  it('when the instance is unknown (404), then the maintain phase is started again', async () => {
    const stored = await seedConnected(world);
    const outcome = await raiseOrStart(world.runtime.durable, stored.connection.connectionId, Events.Refresh, { seenVersion: 1 }, () =>
      restartedMaintainPhase(stored.connection, stored.issuedAt ?? stored.connection.updatedAt, world.clock.now()),
    );
    expect(outcome).toBe('started');
  });
});
