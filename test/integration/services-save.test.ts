/**
 * saveWithRetry against a real Azurite table (optimistic concurrency through real ETags), and the
 * exchange's expiry rule.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { createKeyring, openJson, sealJson } from '../../src/crypto';
import type { Connection } from '../../src/domain/connection';
import { BrokerError } from '../../src/domain/errors';
import { expiryOf } from '../../src/oauth/oauth2/lifetime';
import type { Runtime } from '../../src/services/runtime';
import { saveWithRetry } from '../../src/services/save';
import { ConnectionsRepository, StoredConnection } from '../../src/storage/connections-repo';
import type { Sealer } from '../../src/storage/sealer';
import { AzuriteInstance, startAzurite } from '../support/azurite';

const key = { keyId: 'k1', key: randomBytes(32) };
const sealer: Sealer = {
  async seal(value, aad) {
    return { envelope: sealJson(value, key, aad), keyId: key.keyId };
  },
  async open<T>(envelope: string, aad: string) {
    return openJson<T>(envelope, createKeyring(key), aad);
  },
};

let azurite: AzuriteInstance;
let client: TableClient;
let repo: ConnectionsRepository;
let seq = 0;

const base: Connection = {
  connectionId: 'conn-1',
  clientId: 'app1',
  instanceId: 'app1.conn-1',
  provider: 'acme',
  protocol: 'oauth2',
  status: 'connected',
  scopes: ['read'],
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
  expiresAt: '2030-01-01T01:00:00.000Z',
  lastRefreshedAt: null,
  credentialsVersion: 1,
};

function runtimeWith(connections: ConnectionsRepository): Runtime {
  return { connections } as unknown as Runtime;
}

async function seed(): Promise<StoredConnection> {
  await repo.create(base);
  const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
  await repo.save(read, base, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' }, issuedAt: '2030-01-01T00:00:00.000Z' });
  return (await repo.get('app1', 'conn-1')) as StoredConnection;
}

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

beforeEach(async () => {
  seq += 1;
  client = TableClient.fromConnectionString(azurite.connectionString, `saves${seq}`, { allowInsecureConnection: true });
  await client.createTable();
  repo = new ConnectionsRepository(client, sealer);
});

describe('saveWithRetry', () => {
  it('when nobody else writes, then the decision lands once and the returned row matches storage', async () => {
    const stored = await seed();
    const decide = jest.fn((connection: Connection) => ({ next: { ...connection, status: 'refreshing' as const }, change: {} }));
    const saved = await saveWithRetry(runtimeWith(repo), stored, decide);
    expect(decide).toHaveBeenCalledTimes(1);
    const reread = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(saved?.connection).toEqual(reread.connection);
    expect(saved?.etag).toBe(reread.etag);
    expect(saved?.issuedAt).toBe('2030-01-01T00:00:00.000Z');
    expect(await repo.openCredentials(reread)).toMatchObject({ accessToken: 'at-1' });
  });

  it('when the decision returns nothing, then nothing is written and undefined comes back', async () => {
    const stored = await seed();
    expect(await saveWithRetry(runtimeWith(repo), stored, () => undefined)).toBeUndefined();
    expect((await repo.get('app1', 'conn-1'))?.etag).toBe(stored.etag);
  });

  it('when another writer changed the row first, then it re-reads and decides again on the newer row', async () => {
    const stale = await seed();
    await repo.save(stale, { ...stale.connection, status: 'revoked' }, { credentials: null });

    const seenStatuses: string[] = [];
    const saved = await saveWithRetry(runtimeWith(repo), stale, (connection) => {
      seenStatuses.push(connection.status);
      if (connection.status === 'revoked') return undefined; // a revocation must not be overwritten
      return { next: { ...connection, status: 'connected', credentialsVersion: connection.credentialsVersion + 1 }, change: {} };
    });
    expect(seenStatuses).toEqual(['connected', 'revoked']);
    expect(saved).toBeUndefined();
    const final = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(final.connection.status).toBe('revoked');
    expect(final.sealedCredentials).toBeUndefined();
  });

  it('when the conflict resolves on the second try, then the second decision is written with the new issuedAt', async () => {
    const stale = await seed();
    await repo.save(stale, { ...stale.connection, updatedAt: '2030-01-01T00:00:30.000Z' });
    const saved = await saveWithRetry(runtimeWith(repo), stale, (connection) => ({
      next: { ...connection, credentialsVersion: connection.credentialsVersion + 1 },
      change: { credentials: { protocol: 'oauth2', accessToken: 'at-2', tokenType: 'Bearer' }, issuedAt: '2030-01-01T00:59:00.000Z' },
    }));
    expect(saved?.connection).toMatchObject({ updatedAt: '2030-01-01T00:00:30.000Z', credentialsVersion: 2 });
    expect(saved?.issuedAt).toBe('2030-01-01T00:59:00.000Z');
    const final = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(final.etag).toBe(saved?.etag);
    expect(await repo.openCredentials(final)).toMatchObject({ accessToken: 'at-2' });
  });

  it('when the row was deleted, then undefined comes back', async () => {
    const stored = await seed();
    await repo.delete('app1', 'conn-1');
    expect(await saveWithRetry(runtimeWith(repo), stored, (c) => ({ next: c, change: {} }))).toBeUndefined();
  });

  it('when another writer wins every time, then it gives up with a transient CONFLICT after 5 attempts', async () => {
    const stored = await seed();
    let interfering = 0;
    // A second writer that touches the row just before each of our writes.
    const contended = Object.create(repo) as ConnectionsRepository;
    contended.save = async (s, next, change) => {
      interfering += 1;
      const latest = (await repo.get('app1', 'conn-1')) as StoredConnection;
      await repo.save(latest, { ...latest.connection, updatedAt: `2030-01-01T00:00:0${interfering}.000Z` });
      return repo.save(s, next, change);
    };
    const error = await saveWithRetry(runtimeWith(contended), stored, (c) => ({ next: { ...c, status: 'refreshing' }, change: {} })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({ code: 'CONFLICT', transient: true });
    expect(interfering).toBe(5);
    expect((await repo.get('app1', 'conn-1'))?.connection.status).toBe('connected');
  });
});

describe('expiryOf (exchange expiry rule)', () => {
  const now = new Date('2030-01-01T00:00:00.000Z');

  it('when the provider sends expires_in, then the expiry is now plus that many seconds', () => {
    expect(expiryOf(now, 3599, true)).toBe('2030-01-01T00:59:59.000Z');
    expect(expiryOf(now, 60, false)).toBe('2030-01-01T00:01:00.000Z');
    expect(expiryOf(now, 0, false)).toBe('2030-01-01T00:00:00.000Z');
  });

  it('when there is no expires_in and no refresh token, then the token does not expire (null)', () => {
    expect(expiryOf(now, undefined, false)).toBeNull();
    expect(expiryOf(now, undefined, false, 120)).toBeNull();
  });

  it('when there is no expires_in but a refresh token, then the provider’s fallback lifetime applies, else one hour', () => {
    expect(expiryOf(now, undefined, true)).toBe('2030-01-01T01:00:00.000Z');
    expect(expiryOf(now, undefined, true, 120)).toBe('2030-01-01T00:02:00.000Z');
  });
});
