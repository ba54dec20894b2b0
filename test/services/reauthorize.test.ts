/** Reauthorization and starting connections in-process: real tables, a fake durable client and clock. */
import { Events, Orchestrations } from '../../src/durable/names';
import { authorizationIdForState } from '../../src/services/begin-authorization';
import { markOutcome } from '../../src/services/mark-outcome';
import { reauthorize } from '../../src/services/reauthorize';
import { startConnection } from '../../src/services/start-connection';
import { getToken } from '../../src/services/token';
import { connectionInstanceId } from '../../src/domain/connection';
import { CLIENT, rejection, running, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();

function stateOf(authorizationUrl: string): string {
  return new URL(authorizationUrl).searchParams.get('state') ?? '';
}

describe('reauthorize', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the orchestration runs, then it gets the new attempt as an event, and the old token is no longer served', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    await getToken(world.runtime, CLIENT, connection.connectionId); // cached
    world.clock.advance(1_000);

    const started = await reauthorize(world.runtime, CLIENT, connection.connectionId);
    const authorizationId = authorizationIdForState(stateOf(started.authorizationUrl));
    const deadline = new Date(world.clock.ms + world.runtime.settings.authorizationTimeoutSeconds * 1000).toISOString();
    expect(started).toEqual({
      connectionId: connection.connectionId,
      provider: 'acme',
      status: 'awaiting_callback',
      authorizationUrl: expect.stringContaining('/authorize?'),
      authorizationExpiresAt: deadline,
    });
    expect(world.durable.raisedOf(Events.Reauthorize).map((r) => r.payload)).toEqual([{ authorizationId, deadline }]);
    expect(world.durable.started).toEqual([]);
    const { connection: row } = await world.runtime.connections.require(CLIENT, connection.connectionId);
    expect(row).toMatchObject({ status: 'awaiting_callback', authorizationId, authorizationExpiresAt: deadline });
    expect((await rejection(getToken(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_NOT_CONNECTED');
  });

  it('when no orchestration runs (e.g. reauth_required ended it), then the authorize phase is started for the new attempt', async () => {
    const { connection } = await seedConnected(world, { status: 'reauth_required' });
    const started = await reauthorize(world.runtime, CLIENT, connection.connectionId);
    expect(world.durable.raisedOf(Events.Reauthorize)).toEqual([]);
    expect(world.durable.started).toEqual([
      {
        name: Orchestrations.Connection,
        instanceId: connection.instanceId,
        input: {
          phase: 'authorize',
          connectionId: connection.connectionId,
          clientId: CLIENT,
          provider: 'acme',
          protocol: 'oauth2',
          authorizationId: authorizationIdForState(stateOf(started.authorizationUrl)),
          deadline: started.authorizationExpiresAt,
        },
      },
    ]);
  });

  it('when another caller restarted the orchestration first, then the new attempt is raised to that one', async () => {
    const { connection } = await seedConnected(world, { status: 'failed' });
    world.durable.failNextStarts = 1;
    world.durable.known.add(connection.instanceId);
    world.durable.running.add(connection.connectionId);
    world.durable.getStatus = async () => ({ runtimeStatus: 'Completed' }); // seen as stopped, started by the time we start it
    await reauthorize(world.runtime, CLIENT, connection.connectionId);
    expect(world.durable.raisedOf(Events.Reauthorize)).toHaveLength(1);
  });

  it('when the event can be neither raised nor the orchestration started, then a transient error rather than a URL nobody waits for', async () => {
    const { connection } = await seedConnected(world, { status: 'failed' });
    world.durable.failNextStarts = 1;
    world.durable.failNextRaises = 1;
    expect(await rejection(reauthorize(world.runtime, CLIENT, connection.connectionId))).toMatchObject({ code: 'STORAGE_UNAVAILABLE', transient: true });
  });

  it('when the connection was revoked, then CONNECTION_REVOKED and no attempt is sent to the orchestration', async () => {
    const { connection } = await seedConnected(world, { status: 'revoked' });
    expect((await rejection(reauthorize(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_REVOKED');
    expect(world.durable.raised).toEqual([]);
    expect(world.durable.started).toEqual([]);
  });
});

describe('startConnection', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world({ allowedReturnUrls: ['https://app.example/done/'] });
  });

  it('when started, then the connection row names the attempt and the authorize phase starts with references only', async () => {
    const started = await startConnection(world.runtime, CLIENT, { provider: 'acme', returnTo: 'https://app.example/done/here', endUserId: 'u1' });
    const authorizationId = authorizationIdForState(stateOf(started.authorizationUrl));
    const expiresAt = new Date(world.clock.ms + 600_000).toISOString();
    expect(started).toMatchObject({ provider: 'acme', status: 'awaiting_callback', authorizationExpiresAt: expiresAt });
    expect(world.durable.started).toEqual([
      {
        name: Orchestrations.Connection,
        instanceId: connectionInstanceId(CLIENT, started.connectionId),
        input: { phase: 'authorize', connectionId: started.connectionId, clientId: CLIENT, provider: 'acme', protocol: 'oauth2', authorizationId, deadline: expiresAt },
      },
    ]);
    const { connection } = await world.runtime.connections.require(CLIENT, started.connectionId);
    expect(connection).toMatchObject({ status: 'awaiting_callback', authorizationId, scopes: ['read'], endUserId: 'u1', createdAt: world.clock.now().toISOString() });
    const attempt = await world.runtime.authorizations.get(authorizationId);
    expect(attempt).toMatchObject({ connectionId: started.connectionId, returnTo: 'https://app.example/done/here', expiresAt });
  });

  it('when returnTo is outside the allowed prefixes, then RETURN_URL_NOT_ALLOWED and nothing is written or started', async () => {
    for (const returnTo of ['https://app.example/other', 'https://evil.example/done/', 'https://app.example.evil.example/done/']) {
      const error = await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', returnTo }));
      expect(error).toMatchObject({ code: 'RETURN_URL_NOT_ALLOWED', details: { field: 'returnTo' } });
    }
    expect(world.durable.started).toEqual([]);
    expect((await world.runtime.connections.list(CLIENT, {}, 10)).items).toEqual([]);
  });

  it('when the client already holds the id, then CONNECTION_EXISTS; when the orchestration cannot start, then the rows are removed again', async () => {
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'fixed-id' });
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'fixed-id' }))).code).toBe('CONNECTION_EXISTS');

    world.durable.failNextStarts = 1;
    const error = await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'doomed' }));
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', transient: true });
    expect(await world.runtime.connections.get(CLIENT, 'doomed')).toBeUndefined();
  });

  it('when the provider is unknown or has no credentials, then UNKNOWN_PROVIDER', async () => {
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'nope' }))).code).toBe('UNKNOWN_PROVIDER');
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'github' }))).code).toBe('UNKNOWN_PROVIDER');
  });
});

describe('markOutcome', () => {
  it('when the authorization window ends without a callback, then expired; a newer attempt is never settled by an older one', async () => {
    const world = await fixture.world();
    const started = await startConnection(world.runtime, CLIENT, { provider: 'acme' });
    const { connection } = await world.runtime.connections.require(CLIENT, started.connectionId);
    const ref = { connectionId: connection.connectionId, clientId: CLIENT, provider: 'acme', protocol: 'oauth2' as const };

    await markOutcome(world.runtime, { ...ref, authorizationId: 'an-older-attempt', status: 'expired' });
    expect((await world.runtime.connections.require(CLIENT, connection.connectionId)).connection.status).toBe('awaiting_callback');

    world.clock.advance(600_000);
    await markOutcome(world.runtime, { ...ref, authorizationId: connection.authorizationId ?? '', status: 'expired' });
    expect((await world.runtime.connections.require(CLIENT, connection.connectionId)).connection).toMatchObject({
      status: 'expired',
      updatedAt: world.clock.now().toISOString(),
      error: { code: 'STATE_EXPIRED' },
    });
  });
});
