/**
 * Many clients on one broker, in-process: connection ids namespaced by client in the durable
 * instance id, rows spread over partitions with a dual read of legacy rows, operator lookups that
 * name the client, and pending authorization rows that lose their secrets once settled.
 */
import { connectionInstanceId } from '../../src/domain/connection';
import { Events, Orchestrations } from '../../src/durable/names';
import { authorizationIdForState } from '../../src/services/begin-authorization';
import { handleCallback } from '../../src/services/callback';
import { markOutcome } from '../../src/services/mark-outcome';
import { findOperatorConnection } from '../../src/services/operator-lookup';
import { reauthorize } from '../../src/services/reauthorize';
import { revokeThroughOrchestration } from '../../src/services/revoke-request';
import { ClientLimits, DEFAULT_LIMITS, QUOTA_COUNT_REUSE_MS } from '../../src/services/limits';
import type { Runtime } from '../../src/services/runtime';
import { startConnection } from '../../src/services/start-connection';
import { forceRefresh } from '../../src/services/token';
import { sweep, WATCHDOG } from '../../src/services/watchdog';
import { RETENTION_AFTER_EXPIRY_MS } from '../../src/storage/authorizations-repo';
import { ConnectionsRepository } from '../../src/storage/connections-repo';
import { CLIENT, orchestrateWithActivities, rejection, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

/** The connection table's queries and point reads from here on. */
function storageCalls(repository: ConnectionsRepository) {
  const table = repository['table'];
  return { queries: jest.spyOn(table, 'listEntities'), reads: jest.spyOn(table, 'getEntity') };
}
const OTHER = 'app2';

function stateOf(authorizationUrl: string): string {
  return new URL(authorizationUrl).searchParams.get('state') ?? '';
}

describe('connection ids are unique per client', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when two clients choose the same id, then each gets its own row and its own orchestration instance', async () => {
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'crm-1' });
    await startConnection(world.runtime, OTHER, { provider: 'acme', connectionId: 'crm-1' });

    expect(world.durable.started.map((s) => s.instanceId)).toEqual(['app1.crm-1', 'app2.crm-1']);
    expect(world.durable.started.map((s) => (s.input as { clientId: string }).clientId)).toEqual([CLIENT, OTHER]);
    const [mine, theirs] = [await world.runtime.connections.require(CLIENT, 'crm-1'), await world.runtime.connections.require(OTHER, 'crm-1')];
    expect(mine.connection.authorizationId).not.toBe(theirs.connection.authorizationId);
    expect((await rejection(startConnection(world.runtime, OTHER, { provider: 'acme', connectionId: 'crm-1' }))).code).toBe('CONNECTION_EXISTS');
  });

  it('when the same client starts an id its legacy row holds, then CONNECTION_EXISTS and no new row or orchestration', async () => {
    await seedConnected(world, { connectionId: 'old-1', legacy: true });
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'old-1' }))).code).toBe('CONNECTION_EXISTS');
    expect(world.durable.started).toEqual([]);
    expect((await world.runtime.connections.list(CLIENT, {}, 10)).items.map((c) => c.connectionId)).toEqual(['old-1']);
  });

  it('when a client starts a connection, then the quota query also answers the legacy id check: two queries and no point read, and a legacy row of any status still refuses its id', async () => {
    await seedConnected(world, { connectionId: 'old-held', legacy: true });
    await seedConnected(world, { connectionId: 'old-revoked', legacy: true, status: 'revoked' });
    const { queries, reads } = storageCalls(world.runtime.connections as ConnectionsRepository);

    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'new-1' });
    // The legacy partition part and the spread range of the quota count; nothing else read before the insert.
    expect(queries).toHaveBeenCalledTimes(2);
    expect(reads).not.toHaveBeenCalled();
    expect(world.durable.started.map((s) => s.instanceId)).toEqual(['app1.new-1']);

    // The revoked legacy row holds no place in the quota, yet its id stays taken.
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'old-revoked' }))).code).toBe('CONNECTION_EXISTS');
    expect(world.durable.started).toHaveLength(1);
    expect((await world.runtime.connections.list(CLIENT, {}, 10)).items.map((c) => c.connectionId).sort()).toEqual(['new-1', 'old-held', 'old-revoked']);
  });

  it('when an operator names an id two clients hold, then the lookup asks for the client; with it, the row of that client', async () => {
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'crm-1' });
    await startConnection(world.runtime, OTHER, { provider: 'acme', connectionId: 'crm-1' });
    const ambiguous = await rejection(findOperatorConnection(world.runtime, 'crm-1', undefined));
    expect(ambiguous).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'clientId' } });
    expect([...(ambiguous.details?.clientIds as string[])].sort()).toEqual([CLIENT, OTHER]);
    expect((await findOperatorConnection(world.runtime, 'crm-1', OTHER)).connection).toMatchObject({ clientId: OTHER, instanceId: 'app2.crm-1' });
    expect((await rejection(findOperatorConnection(world.runtime, 'crm-1', 'app3'))).code).toBe('CONNECTION_NOT_FOUND');
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'solo' });
    expect((await findOperatorConnection(world.runtime, 'solo', undefined)).connection.clientId).toBe(CLIENT);
  });
});

describe('an empty legacy partition is looked at once per client and process', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('when a client has no legacy row, then its first start looks with one keys-only query and later starts never read the legacy partition (a miss still does)', async () => {
    const calls = storageCalls(world.runtime.connections as ConnectionsRepository);
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'new-1' });
    // The look ($top=1, keys only) instead of the legacy part of the quota count, then the spread range.
    expect(calls.queries).toHaveBeenCalledTimes(2);
    expect(calls.queries.mock.calls[0][0]).toEqual({ queryOptions: { filter: "PartitionKey eq 'app1'", select: ['RowKey'] } });
    expect(calls.reads).not.toHaveBeenCalled();

    // Far under its quota the client's count is reused too: the next start queries nothing.
    calls.queries.mockClear();
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'new-2' });
    expect(calls.queries).not.toHaveBeenCalled();
    expect(calls.reads).not.toHaveBeenCalled();

    // A miss reads both partitions: a row an older version's host writes during an upgrade stays visible.
    calls.queries.mockClear();
    expect(await world.runtime.connections.get(CLIENT, 'nowhere')).toBeUndefined();
    expect(calls.reads.mock.calls.map(([partitionKey]) => partitionKey)).toEqual([expect.stringMatching(/^app1~/), 'app1']);
    expect(calls.queries).not.toHaveBeenCalled();
    // Another client's partition is its own look.
    await startConnection(world.runtime, OTHER, { provider: 'acme', connectionId: 'new-1' });
    expect(calls.queries).toHaveBeenCalledTimes(2);
    expect(calls.queries.mock.calls[0][0]).toEqual({ queryOptions: { filter: `PartitionKey eq '${OTHER}'`, select: ['RowKey'] } });
  });

  it('when the legacy partition holds only a revoked row another instance wrote, then it is not taken as empty: the id stays taken and the row is found', async () => {
    const repository = world.runtime.connections as ConnectionsRepository;
    // Written by another instance: this one has never looked at the partition.
    const elsewhere = new ConnectionsRepository(repository['table'], repository['sealer']);
    await seedConnected({ ...world, runtime: { ...world.runtime, connections: elsewhere } }, { connectionId: 'old-revoked', legacy: true, status: 'revoked' });

    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'old-revoked' }))).code).toBe('CONNECTION_EXISTS');
    expect((await world.runtime.connections.get(CLIENT, 'old-revoked'))?.connection).toMatchObject({ instanceId: 'old-revoked', status: 'revoked' });
    expect(world.durable.started).toEqual([]);
  });

  it('when this instance writes a legacy row after seeing the partition empty, then it reads the partition again', async () => {
    await startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'new-1' });
    await seedConnected(world, { connectionId: 'old-1', legacy: true });
    expect((await world.runtime.connections.get(CLIENT, 'old-1'))?.connection.instanceId).toBe('old-1');
    expect((await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', connectionId: 'old-1' }))).code).toBe('CONNECTION_EXISTS');
    expect((await world.runtime.connections.list(CLIENT, {}, 10)).items.map((c) => c.connectionId).sort()).toEqual(['new-1', 'old-1']);
  });
});

describe('legacy connections (legacy partition, instance id = connection id) keep working', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-2' }));
  });

  it('when refreshed and revoked, then the events go to the legacy instance and the row stays in its partition', async () => {
    const stored = await seedConnected(world, { connectionId: 'legacy-1', legacy: true });
    expect(stored.connection.instanceId).toBe('legacy-1');
    running(world, 'legacy-1');

    const refreshed = await forceRefresh(world.runtime, CLIENT, 'legacy-1');
    expect(refreshed.credentialsVersion).toBe(2);
    expect(world.durable.raisedOf(Events.Refresh).map((r) => r.instanceId)).toEqual(['legacy-1']);
    const after = await world.runtime.connections.require(CLIENT, 'legacy-1');
    expect(after.connection.instanceId).toBe('legacy-1');
    expect(await world.runtime.connections.openCredentials(after)).toMatchObject({ accessToken: 'at-2' });

    await revokeThroughOrchestration(world.runtime, CLIENT, 'legacy-1');
    expect(world.durable.raisedOf(Events.Revoke).map((r) => r.instanceId)).toEqual(['legacy-1']);
    expect((await world.runtime.connections.require(CLIENT, 'legacy-1')).connection.status).toBe('revoked');
  });

  it('when legacy and spread rows share a client, then the list pages through both without loss or repeats', async () => {
    for (const id of ['l-1', 'l-2']) await seedConnected(world, { connectionId: id, legacy: true });
    for (const id of ['n-1', 'n-2', 'n-3', 'n-4', 'n-5']) await seedConnected(world, { connectionId: id });
    await startConnection(world.runtime, OTHER, { provider: 'acme', connectionId: 'n-1' });

    const seen: string[] = [];
    let continuation: string | undefined;
    let pages = 0;
    do {
      const page = await world.runtime.connections.list(CLIENT, {}, 2, continuation);
      expect(page.items.length).toBeLessThanOrEqual(2);
      expect(page.items.every((c) => c.clientId === CLIENT)).toBe(true);
      seen.push(...page.items.map((c) => c.connectionId));
      continuation = page.continuation;
      pages += 1;
    } while (continuation && pages < 20);
    expect(seen.sort()).toEqual(['l-1', 'l-2', 'n-1', 'n-2', 'n-3', 'n-4', 'n-5']);
    expect(pages).toBeLessThanOrEqual(5);
  });

  it('when a stopped orchestration carries a client and connection id whose row names another instance, then the watchdog leaves it alone', async () => {
    const stored = await seedConnected(world, { connectionId: 'legacy-2', legacy: true });
    const input = { connectionId: 'legacy-2', clientId: CLIENT, provider: 'acme', protocol: 'oauth2', phase: 'maintain' };
    // A namespaced instance for the same connection (e.g. left by a failed start) is not the row's.
    await world.durable.startNew(Orchestrations.Connection, { instanceId: connectionInstanceId(CLIENT, 'legacy-2'), input });
    await world.durable.terminate(connectionInstanceId(CLIENT, 'legacy-2'));
    await world.durable.startNew(Orchestrations.Connection, { instanceId: 'legacy-2', input });
    await world.durable.terminate('legacy-2');
    world.durable.started.length = 0;
    world.clock.advance(WATCHDOG.minimumAgeMs);

    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 1, restarted: 1 });
    expect(world.durable.started.map((s) => s.instanceId)).toEqual([stored.connection.instanceId]);
  });
});

describe('pending authorization rows', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
  });

  async function begin() {
    const started = await startConnection(world.runtime, CLIENT, { provider: 'acme' });
    running(world, connectionInstanceId(CLIENT, started.connectionId));
    const state = stateOf(started.authorizationUrl);
    return { ...started, state, authorizationId: authorizationIdForState(state) };
  }

  it('when the exchange succeeds, then the row keeps no secrets and the same callback still gets the same answer', async () => {
    const started = await begin();
    const callback = new URLSearchParams({ code: 'code-1', state: started.state });
    expect(await handleCallback(world.runtime, 'acme', callback)).toMatchObject({ status: 'connected' });

    const tombstone = await world.runtime.authorizations.get(started.authorizationId);
    expect(tombstone).toMatchObject({ sealedSecrets: undefined, sealedCallback: undefined, settledAt: expect.any(String), exchangedAt: expect.any(String) });
    await expect(world.runtime.authorizations.openSecrets(tombstone!)).rejects.toMatchObject({ code: 'STATE_INVALID' });
    expect(await handleCallback(world.runtime, 'acme', callback)).toMatchObject({ connectionId: started.connectionId, status: 'connected' });
    expect(world.provider.takeRequests().filter((r) => r.target === '/token')).toHaveLength(1);
  });

  it('when the user denies, then the row keeps no secrets and the denial again is answered the same', async () => {
    const started = await begin();
    const denial = new URLSearchParams({ error: 'access_denied', state: started.state });
    expect(await handleCallback(world.runtime, 'acme', denial)).toMatchObject({ status: 'denied' });
    expect(await world.runtime.authorizations.get(started.authorizationId)).toMatchObject({ sealedSecrets: undefined, settledAt: expect.any(String) });
    expect(await handleCallback(world.runtime, 'acme', denial)).toMatchObject({ status: 'denied' });
  });

  it('when the attempt expires, then its row keeps no secrets and a late callback still hears STATE_EXPIRED', async () => {
    const started = await begin();
    world.clock.advance(600_000);
    const c = (await world.runtime.connections.require(CLIENT, started.connectionId)).connection;
    await markOutcome(world.runtime, { ...c, authorizationId: started.authorizationId, status: 'expired' });
    expect(await world.runtime.authorizations.get(started.authorizationId)).toMatchObject({ sealedSecrets: undefined, settledAt: expect.any(String) });
    expect((await rejection(handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'late', state: started.state })))).code).toBe('STATE_EXPIRED');
  });

  it('when a reauthorization supersedes the attempt, then its row is deleted; a revocation deletes the pending one', async () => {
    const started = await begin();
    const second = await reauthorize(world.runtime, CLIENT, started.connectionId);
    const secondId = authorizationIdForState(stateOf(second.authorizationUrl));
    expect(await world.runtime.authorizations.get(started.authorizationId)).toBeUndefined();
    expect((await world.runtime.authorizations.get(secondId))?.sealedSecrets).toEqual(expect.any(String));

    await revokeThroughOrchestration(world.runtime, CLIENT, started.connectionId);
    expect(await world.runtime.authorizations.get(secondId)).toBeUndefined();
  });

  it('when the watchdog sweeps, then rows whose window ended more than the retention ago are deleted and newer ones kept', async () => {
    const old = await begin();
    await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'code-1', state: old.state }));
    world.clock.advance(600_000 + RETENTION_AFTER_EXPIRY_MS + 1);
    const fresh = await begin();

    const report = await sweep(world.runtime);
    expect(report.authorizationsDeleted).toBe(1);
    expect(await world.runtime.authorizations.get(old.authorizationId)).toBeUndefined();
    expect(await world.runtime.authorizations.get(fresh.authorizationId)).toBeDefined();
    // Past its retention the callback is simply unknown.
    expect((await rejection(handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'code-1', state: old.state })))).code).toBe('STATE_INVALID');
  });
});

describe('the count of connections held', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  // At 6 starts a minute an instance admits 1 start per 10-s window, so a reused count must leave room for 5 (five instances).
  const limits = { ...DEFAULT_LIMITS, maxConnectionsPerClient: 10, startsPerMinute: 6 };
  const counting = (calls: ReturnType<typeof storageCalls>) => calls.queries.mock.calls.filter(([options]) => options?.queryOptions?.filter?.includes("status eq 'connected'")).length;

  it('when the quota has room, then starts reuse the last count for QUOTA_COUNT_REUSE_MS, and count afresh after it or once the room is gone', async () => {
    const runtime: Runtime = { ...world.runtime, limits: new ClientLimits(world.clock, limits) };
    const calls = storageCalls(runtime.connections as ConnectionsRepository);
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's1' });
    expect(counting(calls)).toBe(1);
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's2' });
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's3' });
    expect(counting(calls)).toBe(1);

    world.clock.advance(QUOTA_COUNT_REUSE_MS);
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's4' });
    expect(counting(calls)).toBe(2);
    // 4 held + the 5 starts other instances may admit unseen: s5 leaves no more room to reuse.
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's5' });
    expect(counting(calls)).toBe(2);
    await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 's6' });
    expect(counting(calls)).toBe(3);
  });

  it('when another instance started connections, then a start near the quota counts them, and the start past it is refused with nothing written', async () => {
    const repository = world.runtime.connections as ConnectionsRepository;
    const elsewhere: Runtime = { ...world.runtime, limits: new ClientLimits(world.clock, limits), connections: new ConnectionsRepository(repository['table'], repository['sealer']) };
    for (let i = 0; i < 6; i++) await startConnection(elsewhere, CLIENT, { provider: 'acme', connectionId: `there-${i}` });

    const runtime: Runtime = { ...world.runtime, limits: new ClientLimits(world.clock, limits) };
    const calls = storageCalls(repository);
    for (let i = 0; i < 4; i++) await startConnection(runtime, CLIENT, { provider: 'acme', connectionId: `here-${i}` });
    expect(counting(calls)).toBe(4);
    const refused = await rejection(startConnection(runtime, CLIENT, { provider: 'acme', connectionId: 'one-too-many' }));
    expect(refused).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { limit: 'BROKER_MAX_CONNECTIONS_PER_CLIENT' } });
    expect(await world.runtime.connections.get(CLIENT, 'one-too-many')).toBeUndefined();
    expect(world.durable.started.map((start) => start.instanceId)).not.toContain(connectionInstanceId(CLIENT, 'one-too-many'));
  });
});
