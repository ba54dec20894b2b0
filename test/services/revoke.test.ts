/**
 * Revocation in-process: through the running orchestration (the fake one runs the real revoke
 * activity), without one, and when the orchestration does not get to it in time (fake clock).
 */
import { Events, Orchestrations } from '../../src/durable/names';
import { revokeConnection } from '../../src/services/revoke';
import { REVOKE_WAIT_MS, revokeThroughOrchestration } from '../../src/services/revoke-request';
import { getToken } from '../../src/services/token';
import { CLIENT, orchestrateWithActivities, rejection, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

function revocations(world: World) {
  return world.provider.takeRequests().filter((r) => r.target === '/revoke').map((r) => Object.fromEntries(new URLSearchParams(r.body)));
}

async function rowOf(world: World, connectionId: string) {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored) };
}

describe('revokeThroughOrchestration', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world({ webhooks: new Map([[CLIENT, { url: 'http://127.0.0.1:9/hooks', secret: 'whsec' }]]) });
    orchestrateWithActivities(world);
    world.provider.answerWith({ status: 200 });
  });

  it('when the orchestration runs, then it revokes (refresh token first), and a second DELETE changes and sends nothing', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    expect(await getToken(world.runtime, CLIENT, connection.connectionId)).toMatchObject({ accessToken: 'at-1' }); // cached

    await revokeThroughOrchestration(world.runtime, CLIENT, connection.connectionId);
    expect(world.durable.raisedOf(Events.Revoke)).toHaveLength(1);
    expect(revocations(world)).toEqual([{ token: 'rt-1', token_type_hint: 'refresh_token', client_id: 'broker-client', client_secret: 'broker-secret' }]);
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'revoked', expiresAt: null });
    expect(row.credentials).toBeUndefined();
    expect((await rejection(getToken(world.runtime, CLIENT, connection.connectionId))).code).toBe('CONNECTION_REVOKED');

    await revokeThroughOrchestration(world.runtime, CLIENT, connection.connectionId);
    expect(world.durable.raisedOf(Events.Revoke)).toHaveLength(1);
    expect(revocations(world)).toEqual([]);
    expect(world.durable.started).toEqual([]); // the orchestration itself notifies
  });

  it('when no orchestration runs, then it revokes here and starts the revoked notification itself', async () => {
    const { connection } = await seedConnected(world, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' } });
    await revokeThroughOrchestration(world.runtime, CLIENT, connection.connectionId);
    expect(revocations(world)).toEqual([{ token: 'at-1', token_type_hint: 'access_token', client_id: 'broker-client', client_secret: 'broker-secret' }]);
    expect((await rowOf(world, connection.connectionId)).connection.status).toBe('revoked');
    expect(world.durable.started).toEqual([
      {
        name: Orchestrations.WebhookDelivery,
        instanceId: expect.stringMatching(/^webhook-[0-9a-f-]{36}$/),
        input: expect.objectContaining({ type: 'connection.revoked', connectionId: connection.connectionId, clientId: CLIENT, occurredAt: world.clock.now().toISOString() }),
      },
    ]);
  });

  it('when the orchestration does not get to it in time, then it revokes here after the wait, stops the orchestration and notifies', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.durable.onEvent = {};
    const before = world.clock.ms;
    await revokeThroughOrchestration(world.runtime, CLIENT, connection.connectionId);
    expect(world.clock.ms - before).toBeGreaterThanOrEqual(REVOKE_WAIT_MS);
    expect((await rowOf(world, connection.connectionId)).connection.status).toBe('revoked');
    expect(world.durable.terminated).toEqual([connection.instanceId]);
    expect(world.durable.started.map((s) => s.name)).toEqual([Orchestrations.WebhookDelivery]);
  });

  it('when the connection belongs to another client, then CONNECTION_NOT_FOUND and nothing changes', async () => {
    const { connection } = await seedConnected(world);
    expect((await rejection(revokeThroughOrchestration(world.runtime, 'someone-else', connection.connectionId))).code).toBe('CONNECTION_NOT_FOUND');
    expect((await rowOf(world, connection.connectionId)).connection.status).toBe('connected');
  });
});

describe('revokeConnection', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the provider keeps failing transiently, then it retries with backoff on the clock, erases anyway and reports the failure', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ error: 'temporarily_unavailable' }, 503));
    const before = world.clock.ms;
    expect(await revokeConnection(world.runtime, { clientId: CLIENT, connectionId: connection.connectionId })).toEqual({ status: 'revoked' });
    expect(revocations(world)).toHaveLength(3);
    expect(world.clock.ms - before).toBe(250 + 500 + 750);
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'revoked', error: { code: 'PROVIDER_UNAVAILABLE', message: expect.stringMatching(/^provider revocation failed: /) } });
    expect(row.credentials).toBeUndefined();
  });

  it('when the provider refuses for good, then one attempt only, and the local erase still happens', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith(tokenAnswer({ error: 'invalid_client' }, 401));
    await revokeConnection(world.runtime, { clientId: CLIENT, connectionId: connection.connectionId });
    expect(revocations(world)).toHaveLength(1);
    expect((await rowOf(world, connection.connectionId)).credentials).toBeUndefined();
  });

  it('when the row is already revoked or gone, then it answers revoked and sends nothing', async () => {
    const { connection } = await seedConnected(world, { status: 'revoked' });
    expect(await revokeConnection(world.runtime, { clientId: CLIENT, connectionId: connection.connectionId })).toEqual({ status: 'revoked' });
    expect(await revokeConnection(world.runtime, { clientId: CLIENT, connectionId: 'never-existed' })).toEqual({ status: 'revoked' });
    expect(world.provider.takeRequests()).toEqual([]);
  });
});
