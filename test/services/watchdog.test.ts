/** The watchdog's sweep in-process: real tables, a fake durable client and clock. */
import { Events, Orchestrations } from '../../src/durable/names';
import { sweep, WATCHDOG } from '../../src/services/watchdog';
import { CLIENT, running, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();

describe('watchdog sweep', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  /** A connected row with a recorded due time, as the exchange or a refresh writes it. */
  async function connectedDueAt(dueInMs: number) {
    const stored = await seedConnected(world);
    const refreshDueAt = new Date(world.clock.ms + dueInMs).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, refreshDueAt });
    return world.runtime.connections.require(CLIENT, stored.connection.connectionId);
  }

  it('when a connected row is overdue and its orchestration was terminated, then the maintain phase is started again', async () => {
    const stored = await connectedDueAt(10_000);
    world.durable.known.add(stored.connection.instanceId);
    world.durable.terminatedIds.add(stored.connection.instanceId);
    world.clock.advance(WATCHDOG.minimumAgeMs + 60_000);

    const report = await sweep(world.runtime);

    expect(report).toMatchObject({ overdueRows: 1, restarted: 1, nudged: 0, failures: 0 });
    expect(world.durable.started).toEqual([
      expect.objectContaining({ name: Orchestrations.Connection, instanceId: stored.connection.instanceId, input: expect.objectContaining({ phase: 'maintain' }) }),
    ]);
  });

  it('when an overdue row still has a running orchestration (a stuck timer), then it is nudged with the version it holds', async () => {
    const stored = await connectedDueAt(10_000);
    running(world, stored.connection.instanceId);
    world.clock.advance(WATCHDOG.minimumAgeMs + 60_000);

    expect(await sweep(world.runtime)).toMatchObject({ overdueRows: 1, nudged: 1, restarted: 0 });
    expect(world.durable.raisedOf(Events.Refresh).map((r) => r.payload)).toEqual([{ seenVersion: 1 }]);
  });

  it('when a row is not yet due, then it is left alone', async () => {
    const stored = await connectedDueAt(3_000_000);
    running(world, stored.connection.instanceId);
    world.clock.advance(WATCHDOG.minimumAgeMs);
    expect(await sweep(world.runtime)).toMatchObject({ overdueRows: 0, nudged: 0, restarted: 0 });
    expect(world.durable.raised).toEqual([]);
  });

  it('when a terminated orchestration belongs to a connected row that is not overdue yet, then it is restarted at once', async () => {
    const stored = await connectedDueAt(3_000_000);
    const id = stored.connection.instanceId;
    const input = { connectionId: stored.connection.connectionId, clientId: CLIENT, provider: 'acme', protocol: 'oauth2', phase: 'maintain' };
    await world.durable.startNew(Orchestrations.Connection, { instanceId: id, input });
    await world.durable.terminate(id);
    world.clock.advance(WATCHDOG.minimumAgeMs);

    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 1, restarted: 1 });
    expect(world.durable.running.has(id)).toBe(true);
  });

  it('when a row waits for an attempt its running orchestration does not know (a lost reauthorize), then the event is raised again', async () => {
    const stored = await seedConnected(world);
    const deadline = new Date(world.clock.ms + 600_000).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, status: 'awaiting_callback', authorizationId: 'auth-2', authorizationExpiresAt: deadline });
    running(world, stored.connection.instanceId);
    world.durable.customStatus.set(stored.connection.instanceId, { status: 'connected', credentialsVersion: 1 });
    world.clock.advance(WATCHDOG.minimumAgeMs);

    expect(await sweep(world.runtime)).toMatchObject({ awaitingRows: 1, reraised: 1 });
    expect(world.durable.raisedOf(Events.Reauthorize).map((r) => r.payload)).toEqual([{ authorizationId: 'auth-2', deadline }]);
    // Once the orchestration has taken it, the next sweep leaves it alone.
    expect(await sweep(world.runtime)).toMatchObject({ awaitingRows: 1, reraised: 0 });
  });

  it('when a row waits for the attempt its orchestration was started with but has not run yet (its start still on its way), then nothing is raised', async () => {
    const stored = await seedConnected(world);
    const deadline = new Date(world.clock.ms + 600_000).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, status: 'awaiting_callback', authorizationId: 'auth-2', authorizationExpiresAt: deadline });
    const { connectionId, instanceId } = stored.connection;
    // No custom status yet: the execution's first episode has not run.
    await world.durable.startNew(Orchestrations.Connection, {
      instanceId,
      input: { connectionId, clientId: CLIENT, provider: 'acme', protocol: 'oauth2', phase: 'authorize', authorizationId: 'auth-2', deadline },
    });
    world.clock.advance(WATCHDOG.minimumAgeMs);

    expect(await sweep(world.runtime)).toMatchObject({ awaitingRows: 1, reraised: 0, restarted: 0 });
    expect(world.durable.raisedOf(Events.Reauthorize)).toEqual([]);
  });

  it.each([
    ['the interval the provider asked for at the start', 12, 12],
    ['RFC 8628\'s default for a row written before the interval was kept', undefined, 5],
  ])('when a device authorization waits and its orchestration was terminated, then the device phase (polling) is started again at %s', async (_, kept, polledEvery) => {
    const stored = await seedConnected(world, { status: 'awaiting_callback' });
    const deadline = new Date(world.clock.ms + 600_000).toISOString();
    await world.runtime.connections.save(stored, {
      ...stored.connection,
      grant: 'device_code',
      authorizationId: 'auth-1',
      authorizationExpiresAt: deadline,
      ...(kept === undefined ? {} : { devicePollIntervalSeconds: kept }),
    });
    world.durable.known.add(stored.connection.instanceId);
    world.durable.terminatedIds.add(stored.connection.instanceId);
    world.clock.advance(WATCHDOG.minimumAgeMs);

    expect(await sweep(world.runtime)).toMatchObject({ restarted: 1, failures: 0 });
    expect(world.durable.started).toEqual([
      expect.objectContaining({ instanceId: stored.connection.instanceId, input: expect.objectContaining({ phase: 'device', authorizationId: 'auth-1', deadline, intervalSeconds: polledEvery }) }),
    ]);
  });

  it('when an attempt is past its deadline and no orchestration is left to expire it, then the row is marked expired', async () => {
    const stored = await seedConnected(world, { status: 'awaiting_callback' });
    const deadline = new Date(world.clock.ms + 60_000).toISOString();
    await world.runtime.connections.save(stored, { ...stored.connection, authorizationId: 'auth-1', authorizationExpiresAt: deadline });
    world.clock.advance(120_000);

    expect(await sweep(world.runtime)).toMatchObject({ awaitingRows: 1, expired: 1 });
    expect((await world.runtime.connections.require(CLIENT, stored.connection.connectionId)).connection.status).toBe('expired');
  });

  it('when a session-bound connection awaits confirmation and its orchestration was terminated, then the held credentials are erased once the window has passed', async () => {
    const stored = await seedConnected(world, { status: 'awaiting_confirmation' });
    await world.runtime.connections.save(stored, { ...stored.connection, authorizationId: 'auth-1', binding: { challenge: 'c'.repeat(43), issuedFor: 'auth-1' } });
    const id = stored.connection.instanceId;
    const input = { connectionId: stored.connection.connectionId, clientId: CLIENT, provider: 'acme', protocol: 'oauth2', phase: 'confirm' };
    await world.durable.startNew(Orchestrations.Connection, { instanceId: id, input });
    await world.durable.terminate(id);
    const rowOf = async () => world.runtime.connections.require(CLIENT, stored.connection.connectionId);

    // Within the confirmation window the client may still complete: nothing changes.
    world.clock.advance(WATCHDOG.minimumAgeMs);
    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 1, expired: 0 });
    expect((await rowOf()).connection.status).toBe('awaiting_confirmation');
    expect(await world.runtime.connections.openCredentials(await rowOf())).toMatchObject({ accessToken: 'at-1' });
    const startsBefore = world.durable.started.length;

    world.clock.advance(world.runtime.settings.authorizationTimeoutSeconds * 1000);
    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 1, expired: 1 });
    const after = await rowOf();
    expect(after.connection).toMatchObject({ status: 'expired', error: { code: 'BINDING_REJECTED' } });
    expect(await world.runtime.connections.openCredentials(after)).toBeUndefined();
    // Nothing is restarted for it: an unconfirmed connection never gets a refresh loop.
    expect(world.durable.started.length).toBe(startsBefore);
  });

  it('when a row was written moments ago, then its starter is given time and the row is left alone', async () => {
    const stored = await connectedDueAt(-60_000);
    expect(await sweep(world.runtime)).toMatchObject({ overdueRows: 0, restarted: 0 });
    expect(world.durable.started.filter((s) => s.instanceId === stored.connection.instanceId)).toEqual([]);
  });
});
