/** The wait-for-row loop and the token cache, on the fake clock. */
import { TokenCache } from '../../src/services/token-cache';
import { ConnectionWrites } from '../../src/storage/connection-writes';
import { waitForConnection } from '../../src/services/wait-for-connection';
import { CLIENT, FakeClock, seedConnected, servicesFixture } from './_world';

const fixture = servicesFixture();

describe('waitForConnection', () => {
  it('when the row reaches the state, then it returns at once with that row, having run the hook before each read', async () => {
    const world = await fixture.world();
    const { connection } = await seedConnected(world, { status: 'refreshing' });
    const start = world.clock.ms;
    let reads = 0;
    const result = await waitForConnection(world.runtime, connection, (row) => row?.connection.status === 'connected', {
      timeoutMs: 10_000,
      maxPollMs: 100,
      beforeRead: async () => {
        reads += 1;
        if (reads === 3) {
          const stored = await world.runtime.connections.require(CLIENT, connection.connectionId);
          await world.runtime.connections.save(stored, { ...stored.connection, status: 'connected' });
        }
      },
    });
    expect(result.reached).toBe(true);
    expect(result.stored?.connection.status).toBe('connected');
    expect(reads).toBe(3);
    // Polls start fast and back off: 10 ms, then 15 ms.
    expect(world.clock.ms - start).toBe(25);
  });

  it('when the row never gets there, then it gives up at the deadline with the last row it read', async () => {
    const world = await fixture.world();
    const { connection } = await seedConnected(world, { status: 'refreshing' });
    const start = world.clock.ms;
    const result = await waitForConnection(world.runtime, connection, () => false, { timeoutMs: 2_000, maxPollMs: 100 });
    expect(result).toMatchObject({ reached: false, stored: { connection: { status: 'refreshing' } } });
    expect(world.clock.ms - start).toBeGreaterThanOrEqual(2_000);
    expect(world.clock.ms - start).toBeLessThan(2_100);
  });
});

describe('waitForConnection with news of this process\'s writes', () => {
  it('when this process writes the row while the waiter waits, then the waiter takes the written row without reading it again', async () => {
    const world = await fixture.world({ connectionWrites: true });
    const { connection } = await seedConnected(world, { status: 'refreshing' });
    const connections = world.runtime.connections;
    let reads = 0;
    const counting = Object.assign(Object.create(connections) as typeof connections, {
      get: (clientId: string, connectionId: string) => (reads++, connections.get(clientId, connectionId)),
    });
    // A pause that never ends on its own: only the write can wake the waiter, and it lands during the pause.
    const clock = {
      now: () => world.clock.now(),
      sleep: async () => {
        const stored = await connections.require(CLIENT, connection.connectionId);
        await connections.save(stored, { ...stored.connection, status: 'connected' });
        await new Promise(() => undefined);
      },
    };
    const result = await waitForConnection({ ...world.runtime, clock, connections: counting }, connection, (row) => row?.connection.status === 'connected', {
      timeoutMs: 10_000,
      maxPollMs: 100,
    });
    const read = await connections.require(CLIENT, connection.connectionId);
    expect(result).toEqual({ reached: true, stored: read });
    expect(reads).toBe(1);
  });

  it('when the row is written elsewhere (no news of it here), then the waiter sees it by reading, from 100 ms on', async () => {
    const world = await fixture.world({ connectionWrites: true });
    const { connection } = await seedConnected(world, { status: 'refreshing' });
    const start = world.clock.ms;
    let reads = 0;
    // The waiter listens to a process that writes nothing: the repository's writes are another host's.
    const result = await waitForConnection({ ...world.runtime, connectionWrites: new ConnectionWrites() }, connection, (row) => row?.connection.status === 'connected', {
      timeoutMs: 10_000,
      maxPollMs: 100,
      beforeRead: async () => {
        reads += 1;
        if (reads === 2) {
          const stored = await world.runtime.connections.require(CLIENT, connection.connectionId);
          await world.runtime.connections.save(stored, { ...stored.connection, status: 'connected' });
        }
      },
    });
    expect(result.reached).toBe(true);
    expect(result.stored?.connection.status).toBe('connected');
    expect(reads).toBe(2);
    expect(world.clock.ms - start).toBe(100);
  });
});

describe('TokenCache', () => {
  const view = { tokenType: 'Bearer', accessToken: 'at', expiresAt: null, scopes: [] };

  it('serves an entry until its end on the clock, and never after forget', () => {
    const clock = new FakeClock();
    const cache = new TokenCache(clock);
    cache.set('a', 'c1', view, clock.ms + 1_000);
    expect(cache.get('a', 'c1')).toBe(view);
    expect(cache.get('b', 'c1')).toBeUndefined();
    clock.advance(1_000);
    expect(cache.get('a', 'c1')).toBeUndefined();
    cache.set('a', 'c1', view, clock.ms + 1_000);
    cache.forget('a', 'c1');
    expect(cache.get('a', 'c1')).toBeUndefined();
  });

  it('lets concurrent callers of one connection version share a single run, and a later one start afresh', async () => {
    const cache = new TokenCache(new FakeClock());
    let runs = 0;
    const run = async () => {
      const mine = ++runs;
      await new Promise((resolve) => setImmediate(resolve));
      return mine;
    };
    const shared = await Promise.all([cache.singleFlight('a', 'c1', 1, run), cache.singleFlight('a', 'c1', 1, run), cache.singleFlight('a', 'c1', 2, run)]);
    expect(shared).toEqual([1, 1, 2]);
    expect(await cache.singleFlight('a', 'c1', 1, run)).toBe(3);
  });
});
