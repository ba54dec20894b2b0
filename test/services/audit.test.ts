/**
 * The audit trail in-process: the services that do a thing record it in the per-connection event
 * log (real Azurite tables), ids are deterministic so at-least-once activities record once, hot
 * paths count per hour instead of writing per request, nothing secret is written, pages and
 * retention hold.
 */
import { handleCallback } from '../../src/services/callback';
import { proxyRequest } from '../../src/services/proxy';
import { reauthorize } from '../../src/services/reauthorize';
import { refreshCredentials } from '../../src/services/refresh';
import { revokeConnection } from '../../src/services/revoke';
import { startConnection } from '../../src/services/start-connection';
import { getToken } from '../../src/services/token';
import type { AuditEvent } from '../../src/services/audit-trail';
import { CLIENT, orchestrateWithActivities, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

async function allEvents(world: World, connectionId: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let continuation: string | undefined;
  do {
    const page = await world.audit.list(CLIENT, connectionId, { top: 1000, continuation });
    events.push(...page.items);
    continuation = page.continuation;
  } while (continuation);
  return events;
}

async function connectAcme(world: World): Promise<string> {
  world.provider.answerWith(tokenAnswer({ access_token: 'AT-SECRET-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'RT-SECRET-1' }));
  const started = await startConnection(world.runtime, CLIENT, { provider: 'acme' });
  const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
  world.clock.advance(5_000); // the user consents
  await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'CODE-SECRET', state }));
  return started.connectionId;
}

describe('the audit trail', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
  });
  afterEach(() => {
    expect(world.auditErrors).toEqual([]);
  });

  it('when a connection lives its whole life, then each step is one event in time order, with lateness and codes, and never a secret', async () => {
    const connectionId = await connectAcme(world);

    // Ten seconds after the refresh was due (the exchange recorded due = expiry − 60 s margin).
    world.clock.advance(3_600_000 - 60_000 + 10_000);
    world.provider.answerWith(tokenAnswer({ access_token: 'AT-SECRET-2', token_type: 'Bearer', expires_in: 3600, refresh_token: 'RT-SECRET-2' }));
    await refreshCredentials(world.runtime, { connectionId, clientId: CLIENT, expectedVersion: 1 });
    world.clock.advance(1_000);
    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant' }, 400));
    await refreshCredentials(world.runtime, { connectionId, clientId: CLIENT, expectedVersion: 2 });
    world.clock.advance(1_000);
    world.provider.answerWith(tokenAnswer({ access_token: 'AT-SECRET-3', token_type: 'Bearer', expires_in: 3600, refresh_token: 'RT-SECRET-3' }));
    const again = await reauthorize(world.runtime, CLIENT, connectionId);
    world.clock.advance(1_000);
    await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'CODE-SECRET-2', state: new URL(again.authorizationUrl).searchParams.get('state') ?? '' }));
    world.clock.advance(1_000);
    await revokeConnection(world.runtime, { connectionId, clientId: CLIENT });

    const events = await allEvents(world, connectionId);
    expect(events.map((e) => e.type)).toEqual(['created', 'authorized', 'exchanged', 'refreshed', 'refresh_failed', 'reauthorized', 'authorized', 'exchanged', 'revoked']);
    expect(events.every((e) => e.clientId === CLIENT && e.connectionId === connectionId)).toBe(true);
    const refreshed = events.find((e) => e.type === 'refreshed');
    expect(refreshed?.details).toMatchObject({ credentialsVersion: 2, latenessMs: 10_000, remainingMs: 50_000, refreshTokenRotated: true });
    expect(events.find((e) => e.type === 'refresh_failed')?.details).toMatchObject({ errorCode: 'OAUTH_INVALID_GRANT', transient: false, status: 'reauth_required' });
    expect(events.find((e) => e.type === 'reauthorized')?.details).toMatchObject({ previousStatus: 'reauth_required' });
    expect(events.at(-1)?.details).toMatchObject({ revokedAtProvider: true });
    const times = events.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
    const written = JSON.stringify(events);
    for (const secret of ['AT-SECRET', 'RT-SECRET', 'CODE-SECRET', 'broker-secret']) expect(written).not.toContain(secret);
  });

  it('when a callback is exchanged, then its authorized and exchanged events take one storage request, and a re-run writes none twice', async () => {
    const table = world.auditStore['table'];
    const creates = jest.spyOn(table, 'createEntity');
    const batches = jest.spyOn(table, 'submitTransaction');
    const connectionId = await connectAcme(world);
    // `created` on its own at the start; `authorized` and `exchanged` together in one transaction.
    expect(creates).toHaveBeenCalledTimes(1);
    expect(batches).toHaveBeenCalledTimes(1);
    expect(batches.mock.calls[0][0].map(([, entity]) => entity.rowKey)).toEqual([expect.stringContaining('~authorized~'), expect.stringContaining('~exchanged~')]);

    // A batch that finds its rows written (an activity run again) falls back to row by row: first writer wins.
    const events = await allEvents(world, connectionId);
    await world.runtime.audit.recordAll(events.filter((e) => e.type !== 'created').map((e) => ({ ...e, type: e.type as 'authorized' | 'exchanged', about: e.eventId.split('~')[2], details: { again: true } })));
    expect(await allEvents(world, connectionId)).toEqual(events);
  });

  it('when an activity runs twice for the same change, then the trail has one event', async () => {
    const { connection } = await seedConnected(world);
    const startedAt = world.clock.now().toISOString();
    await world.runtime.audit.record({ connectionId: connection.connectionId, clientId: CLIENT, type: 'exchanged', at: startedAt, about: 'attempt-1' });
    await world.runtime.audit.record({ connectionId: connection.connectionId, clientId: CLIENT, type: 'exchanged', at: startedAt, about: 'attempt-1', details: { second: true } });
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 3600 }));
    await refreshCredentials(world.runtime, { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 1 });
    // The re-run (its first answer lost) finds the version moved on and records nothing new.
    await refreshCredentials(world.runtime, { connectionId: connection.connectionId, clientId: CLIENT, expectedVersion: 1 });
    const events = await allEvents(world, connection.connectionId);
    expect(events.map((e) => e.type)).toEqual(['exchanged', 'refreshed']);
    expect(events[0].details).toEqual({});
  });

  it('when tokens are read and calls proxied many times, then they are counted per hour and written once per flush, not per request', async () => {
    const { connection } = await seedConnected(world);
    const id = connection.connectionId;
    const writes = jest.spyOn(world.auditStore, 'upsert');
    for (let i = 0; i < 5; i++) await getToken(world.runtime, CLIENT, id);
    world.provider.answerWith({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
    for (let i = 0; i < 3; i++) (await proxyRequest(world.runtime, { clientId: CLIENT, connectionId: id, method: 'GET', rawPath: 'me', rawQuery: '', headers: {} })).body.resume();
    world.provider.answerWith({ status: 404, headers: {}, body: '' });
    (await proxyRequest(world.runtime, { clientId: CLIENT, connectionId: id, method: 'GET', rawPath: 'gone', rawQuery: '', headers: {} })).body.resume();
    // Nine requests, no write: the hot path only counted. One flush writes one row per counter.
    expect(writes).not.toHaveBeenCalled();
    await world.audit.flush();
    expect(writes).toHaveBeenCalledTimes(2);
    const events = await allEvents(world, id);
    expect(events.filter((e) => e.type === 'token_reads')).toEqual([
      expect.objectContaining({ clientId: CLIENT, at: '2030-01-01T00:00:00.000Z', details: expect.objectContaining({ count: 5 }) }),
    ]);
    expect(events.filter((e) => e.type === 'proxy_calls')).toEqual([expect.objectContaining({ details: expect.objectContaining({ count: 4, byStatus: { '2xx': 3, '4xx': 1 } }) })]);

    // Two more reads in the same hour replace the hour's row; the next hour gets a row of its own.
    await getToken(world.runtime, CLIENT, id);
    world.clock.advance(3_600_000);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 7200 }));
    await getToken(world.runtime, CLIENT, id);
    const reads = (await allEvents(world, id)).filter((e) => e.type === 'token_reads');
    expect(reads.map((e) => [e.at, e.details.count])).toEqual([['2030-01-01T00:00:00.000Z', 6], ['2030-01-01T01:00:00.000Z', 1]]);
  });

  it('when the log is longer than a page, then it pages in order; events past the retention are not listed and are pruned', async () => {
    const short = await fixture.world({ auditRetentionDays: 1 });
    const { connection } = await seedConnected(short);
    const id = connection.connectionId;
    for (let i = 0; i < 5; i++) {
      await short.runtime.audit.record({ connectionId: id, clientId: CLIENT, type: 'refreshed', at: short.clock.now().toISOString(), about: `v${i + 2}` });
      short.clock.advance(12 * 3_600_000);
    }
    // Now 60 h after the first event: the first three are past one day.
    const first = await short.audit.list(CLIENT, id, { top: 1 });
    expect(first.items.map((e) => e.details)).toEqual([{}]);
    expect(first.items[0].eventId).toBe('2030-01-02T12:00:00.000Z~refreshed~v5');
    const rest = await short.audit.list(CLIENT, id, { top: 10, continuation: first.continuation });
    expect(rest.items.map((e) => e.eventId)).toEqual(['2030-01-03T00:00:00.000Z~refreshed~v6']);
    expect(await short.audit.prune()).toBe(3);
    short.clock.advance(1_000);
    expect(await short.audit.prune()).toBe(0);
  });
});
