/** A session-bound connection nobody confirms (issue 17, item 1): real tables, a fake clock. */
import { markOutcome } from '../../src/services/mark-outcome';
import { CLIENT, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();

describe('confirmation deadline', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the deadline passes unconfirmed, then the credentials are erased and the connection is expired', async () => {
    const seeded = await seedConnected(world, { status: 'awaiting_confirmation' });
    const connection = { ...seeded.connection, authorizationId: 'auth-1', binding: { challenge: 'c'.repeat(43), codeHash: 'h', issuedFor: 'auth-1' } };
    await world.runtime.connections.save(seeded, connection);
    const ref = { connectionId: connection.connectionId, clientId: CLIENT, provider: connection.provider, protocol: connection.protocol };

    expect(await markOutcome(world.runtime, { ...ref, authorizationId: 'auth-1', status: 'expired' })).toBe('expired');
    const after = await world.runtime.connections.require(CLIENT, connection.connectionId);
    expect(after.connection.status).toBe('expired');
    expect(after.connection.error?.code).toBe('BINDING_REJECTED');
    expect(after.sealedCredentials).toBeUndefined();
    expect(await world.runtime.connections.openCredentials(after)).toBeUndefined();
  });

  it('when the confirmation won the race, then the deadline changes nothing and answers connected', async () => {
    const seeded = await seedConnected(world);
    const connection = { ...seeded.connection, authorizationId: 'auth-1', binding: { challenge: 'c'.repeat(43), completedAt: seeded.connection.createdAt } };
    await world.runtime.connections.save(seeded, connection);
    const ref = { connectionId: connection.connectionId, clientId: CLIENT, provider: connection.provider, protocol: connection.protocol };

    expect(await markOutcome(world.runtime, { ...ref, authorizationId: 'auth-1', status: 'expired' })).toBe('connected');
    const after = await world.runtime.connections.require(CLIENT, connection.connectionId);
    expect(after.connection.status).toBe('connected');
    expect(after.sealedCredentials).toEqual(expect.any(String));
  });
});
