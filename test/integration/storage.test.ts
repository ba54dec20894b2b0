/**
 * The broker's table repositories against a real Azurite, with a real AES-256-GCM sealer.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { createKeyring, envelopeKeyId, openJson, sealJson } from '../../src/crypto';
import type { Connection } from '../../src/domain/connection';
import { BrokerError } from '../../src/domain/errors';
import { AuthorizationsRepository } from '../../src/storage/authorizations-repo';
import { ConnectionsRepository, StoredConnection } from '../../src/storage/connections-repo';
import type { Credentials } from '../../src/storage/credentials';
import type { Sealer } from '../../src/storage/sealer';
import { spreadPartitionKey } from '../../src/storage/connection-keys';
import { connectionInstanceId } from '../../src/domain/connection';
import { AzuriteInstance, startAzurite } from '../support/azurite';

const key = { keyId: 'test-key-1', key: randomBytes(32) };
const keyring = createKeyring(key);
const sealer: Sealer = {
  async seal(value, aad) {
    return { envelope: sealJson(value, key, aad), keyId: key.keyId };
  },
  async open<T>(envelope: string, aad: string) {
    return openJson<T>(envelope, keyring, aad);
  },
};

const ACCESS_TOKEN = 'access-token-PLAINTEXT-7f3a9c';
const REFRESH_TOKEN = 'refresh-token-PLAINTEXT-51be02';
const credentials: Credentials = { protocol: 'oauth2', accessToken: ACCESS_TOKEN, tokenType: 'Bearer', refreshToken: REFRESH_TOKEN };

let azurite: AzuriteInstance;
let tableSeq = 0;

function table(prefix: string): TableClient {
  tableSeq += 1;
  return TableClient.fromConnectionString(azurite.connectionString, `${prefix}${tableSeq}${Date.now() % 100000}`, { allowInsecureConnection: true });
}

async function freshTable(prefix: string): Promise<TableClient> {
  const client = table(prefix);
  await client.createTable();
  return client;
}

function connection(overrides: Partial<Connection> = {}): Connection {
  const clientId = overrides.clientId ?? 'app1';
  const connectionId = overrides.connectionId ?? 'conn-1';
  return {
    connectionId,
    clientId,
    instanceId: connectionInstanceId(clientId, connectionId),
    provider: 'acme',
    protocol: 'oauth2',
    status: 'awaiting_callback',
    scopes: ['read', 'write'],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
    expiresAt: null,
    lastRefreshedAt: null,
    authorizationExpiresAt: '2030-01-01T00:10:00.000Z',
    authorizationId: 'auth-hash-1',
    credentialsVersion: 0,
    ...overrides,
  };
}

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

describe('ConnectionsRepository', () => {
  let client: TableClient;
  let repo: ConnectionsRepository;

  beforeEach(async () => {
    client = await freshTable('conns');
    repo = new ConnectionsRepository(client, sealer);
  });

  it('when created, then get/require/findById return the same connection', async () => {
    const created = connection({ endUserId: 'user-1', metadata: { team: 'a' }, returnTo: 'https://app.example/done' });
    const etag = await repo.create(created);
    expect(etag).not.toBe('');

    const stored = await repo.get('app1', 'conn-1');
    expect(stored?.connection).toEqual(created);
    expect(stored?.etag).toBe(etag);
    expect(stored?.issuedAt).toBeNull();
    expect(stored?.sealedCredentials).toBeUndefined();
    expect((await repo.require('app1', 'conn-1')).connection).toEqual(created);
    expect((await repo.findById('conn-1')).map((s) => s.connection)).toEqual([created]);
  });

  it('when the connection id already exists for the client, then CONNECTION_EXISTS', async () => {
    await repo.create(connection());
    await expect(repo.create(connection())).rejects.toMatchObject({ code: 'CONNECTION_EXISTS' });
  });

  it('another client cannot read a connection by its id: get answers undefined, require CONNECTION_NOT_FOUND', async () => {
    await repo.create(connection());
    expect(await repo.get('app2', 'conn-1')).toBeUndefined();
    const error = await repo.require('app2', 'conn-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('CONNECTION_NOT_FOUND');
    expect(await repo.findById('nope')).toEqual([]);
  });

  it('lists only the client’s own connections, filtered by provider, status and end user', async () => {
    await repo.create(connection({ connectionId: 'a1', provider: 'acme', status: 'connected', endUserId: 'u1' }));
    await repo.create(connection({ connectionId: 'a2', provider: 'acme', status: 'failed', endUserId: 'u2' }));
    await repo.create(connection({ connectionId: 'b1', provider: 'other', status: 'connected', endUserId: 'u1' }));
    await repo.create(connection({ connectionId: 'x1', clientId: 'app2', provider: 'acme', status: 'connected', endUserId: 'u1' }));

    const ids = async (filters: Parameters<ConnectionsRepository['list']>[1]) =>
      (await repo.list('app1', filters, 100)).items.map((c) => c.connectionId).sort();
    expect(await ids({})).toEqual(['a1', 'a2', 'b1']);
    expect(await ids({ provider: 'acme' })).toEqual(['a1', 'a2']);
    expect(await ids({ status: 'connected' })).toEqual(['a1', 'b1']);
    expect(await ids({ endUserId: 'u1' })).toEqual(['a1', 'b1']);
    expect(await ids({ provider: 'acme', status: 'connected', endUserId: 'u1' })).toEqual(['a1']);
    expect(await ids({ provider: "o'brien" })).toEqual([]);
    expect((await repo.list('app1', {}, 100)).continuation).toBeUndefined();
  });

  it('counts the client’s rows of the given statuses in both partition parts (legacy and spread), stopping at the bound', async () => {
    await repo.create(connection({ connectionId: 'a1', status: 'connected' }));
    await repo.create(connection({ connectionId: 'a2', status: 'awaiting_callback' }));
    await repo.create(connection({ connectionId: 'a3', status: 'revoked' }));
    // A row from before the spread partitions (instance id = connection id) lives in the legacy one.
    await repo.create(connection({ connectionId: 'old1', instanceId: 'old1', status: 'refreshing' }));
    await repo.create(connection({ connectionId: 'old2', instanceId: 'old2', status: 'failed' }));
    await repo.create(connection({ connectionId: 'x1', clientId: 'app2', status: 'connected' }));
    const held = ['awaiting_callback', 'connected', 'refreshing', 'reauth_required'];
    expect((await repo.list('app1', { status: 'refreshing' }, 10)).items.map((c) => c.connectionId)).toEqual(['old1']);
    expect(await repo.countWithStatus('app1', held, 100)).toBe(3);
    expect(await repo.countWithStatus('app1', ['revoked', 'failed'], 100)).toBe(2);
    expect(await repo.countWithStatus('app2', held, 100)).toBe(1);
    expect(await repo.countWithStatus('app1', ["o'brien"], 100)).toBe(0);
    expect(await repo.countWithStatus('app1', held, 2)).toBe(2);
  });

  it('when there are more rows than the page size, then pages chain through the continuation without loss or repeats', async () => {
    const total = 7;
    for (let i = 0; i < total; i++) await repo.create(connection({ connectionId: `c${i}` }));
    const seen: string[] = [];
    let continuation: string | undefined;
    let pages = 0;
    do {
      const page = await repo.list('app1', {}, 3, continuation);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((c) => c.connectionId));
      continuation = page.continuation;
      pages += 1;
    } while (continuation && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(Array.from({ length: total }, (_, i) => `c${i}`));
  });

  it('when the continuation token is garbage, then INVALID_REQUEST (a client error, not a storage outage)', async () => {
    await repo.create(connection());
    for (const token of ['not-a-token', Buffer.from('{"nextPartitionKey":').toString('base64')]) {
      const error = await repo.list('app1', {}, 3, token).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerError);
      expect((error as BrokerError).code).toBe('INVALID_REQUEST');
    }
  });

  it('when a continuation token points into another client’s partition, then nothing of that client is listed', async () => {
    await repo.create(connection({ connectionId: 'mine' }));
    await repo.create(connection({ connectionId: 'theirs', clientId: 'app2' }));
    const forged = Buffer.from(JSON.stringify({ nextPartitionKey: 'app2', nextRowKey: 'theirs' })).toString('base64');
    const page = await repo.list('app1', {}, 10, forged);
    expect(page.items.map((c) => c.clientId)).not.toContain('app2');
  });

  it('when two writers save from the same read, then the first wins and the second gets undefined', async () => {
    await repo.create(connection());
    const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
    const first = await repo.save(read, { ...read.connection, status: 'connected', updatedAt: '2030-01-01T00:01:00.000Z' });
    const second = await repo.save(read, { ...read.connection, status: 'revoked', updatedAt: '2030-01-01T00:01:01.000Z' });
    expect(first).toEqual(expect.any(String));
    expect(first).not.toBe(read.etag);
    expect(second).toBeUndefined();
    expect((await repo.get('app1', 'conn-1'))?.connection.status).toBe('connected');
  });

  it('when the row was deleted, then save answers undefined', async () => {
    await repo.create(connection());
    const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
    await repo.delete('app1', 'conn-1');
    await repo.delete('app1', 'conn-1');
    expect(await repo.save(read, read.connection)).toBeUndefined();
  });

  it('seals credentials: the raw row holds no plaintext token, names the key, and opens only with its own connection id', async () => {
    await repo.create(connection());
    const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
    const etag = await repo.save(read, { ...read.connection, status: 'connected', credentialsVersion: 1 }, { credentials, issuedAt: '2030-01-01T00:01:00.000Z' });
    expect(etag).toBeDefined();

    const raw = await client.getEntity<Record<string, unknown>>(spreadPartitionKey('app1', 'conn-1'), 'conn-1');
    const rawText = JSON.stringify(raw);
    for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN, Buffer.from(ACCESS_TOKEN).toString('base64'), Buffer.from(ACCESS_TOKEN).toString('base64url')]) {
      expect(rawText).not.toContain(secret);
    }
    expect(raw.credentialsKeyId).toBe('test-key-1');
    expect(envelopeKeyId(raw.credentials as string)).toBe('test-key-1');

    const stored = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(stored.issuedAt).toBe('2030-01-01T00:01:00.000Z');
    expect(await repo.openCredentials(stored)).toEqual(credentials);
    await expect(sealer.open(raw.credentials as string, 'conn-2')).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });

    // A row copied under another connection id cannot be opened there.
    const { etag: _etag, timestamp: _timestamp, partitionKey: _pk, rowKey: _rk, ...copy } = raw;
    await client.createEntity({ ...copy, partitionKey: 'app1', rowKey: 'conn-2' });
    const copied = (await repo.get('app1', 'conn-2')) as StoredConnection;
    await expect(repo.openCredentials(copied)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
  });

  it('when saved without credentials, then the sealed ones and issuedAt are kept; with null they are erased', async () => {
    await repo.create(connection());
    const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
    await repo.save(read, { ...read.connection, status: 'connected', credentialsVersion: 1 }, { credentials, issuedAt: '2030-01-01T00:01:00.000Z' });

    const connected = (await repo.get('app1', 'conn-1')) as StoredConnection;
    await repo.save(connected, { ...connected.connection, status: 'refreshing' });
    const refreshing = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(refreshing.connection.status).toBe('refreshing');
    expect(refreshing.sealedCredentials).toBe(connected.sealedCredentials);
    expect(refreshing.credentialsKeyId).toBe('test-key-1');
    expect(refreshing.issuedAt).toBe('2030-01-01T00:01:00.000Z');
    expect(await repo.openCredentials(refreshing)).toEqual(credentials);

    await repo.save(refreshing, { ...refreshing.connection, status: 'revoked' }, { credentials: null, issuedAt: null });
    const revoked = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(revoked.sealedCredentials).toBeUndefined();
    expect(revoked.issuedAt).toBeNull();
    expect(await repo.openCredentials(revoked)).toBeUndefined();
    const raw = await client.getEntity<Record<string, unknown>>(spreadPartitionKey('app1', 'conn-1'), 'conn-1');
    expect(raw).not.toHaveProperty('credentials');
    expect(raw).not.toHaveProperty('credentialsKeyId');
  });

  it('round-trips expiry, refresh time, error and removes cleared optional fields on save', async () => {
    await repo.create(connection());
    const read = (await repo.get('app1', 'conn-1')) as StoredConnection;
    const failed: Connection = {
      ...read.connection,
      status: 'failed',
      expiresAt: '2030-01-01T01:00:00.000Z',
      lastRefreshedAt: '2030-01-01T00:30:00.000Z',
      authorizationExpiresAt: undefined,
      error: { code: 'OAUTH_INVALID_GRANT', message: 'bad grant', providerError: 'invalid_grant', at: '2030-01-01T00:31:00.000Z' },
    };
    await repo.save(read, failed);
    const stored = (await repo.get('app1', 'conn-1')) as StoredConnection;
    expect(stored.connection).toEqual(failed);
  });
});

describe('AuthorizationsRepository', () => {
  let client: TableClient;
  let repo: AuthorizationsRepository;
  const attempt = {
    authorizationId: 'sha256-of-state-abc',
    connectionId: 'conn-1',
    clientId: 'app1',
    instanceId: 'app1.conn-1',
    provider: 'acme',
    protocol: 'oauth2' as const,
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-01T00:10:00.000Z',
    returnTo: 'https://app.example/done',
  };
  const STATE = 'state-PLAINTEXT-d41d8c';
  const VERIFIER = 'pkce-verifier-PLAINTEXT-9e107d';
  const CODE = 'authorization-code-PLAINTEXT-e4d909';
  const secrets = {
    authorizationUrl: `https://id.acme.example/authorize?state=${STATE}`,
    redirectUri: 'http://127.0.0.1/api/callback/acme',
    scopes: ['read'],
    codeVerifier: VERIFIER,
  };

  beforeEach(async () => {
    client = await freshTable('auths');
    repo = new AuthorizationsRepository(client, sealer);
  });

  it('when created, then get returns the attempt and its sealed secrets open, while the raw row holds no state or verifier', async () => {
    await repo.create(attempt, secrets);
    const stored = await repo.get(attempt.authorizationId);
    expect(stored).toMatchObject({ ...attempt, callback: undefined, exchangedAt: undefined, sealedCallback: undefined });
    expect(await repo.openSecrets(stored!)).toEqual(secrets);
    expect(await repo.openCallback(stored!)).toBeUndefined();

    const rawText = JSON.stringify(await client.getEntity(attempt.authorizationId, 'attempt'));
    expect(rawText).not.toContain(STATE);
    expect(rawText).not.toContain(VERIFIER);
    await expect(sealer.open(stored!.sealedSecrets!, 'conn-2')).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    expect(await repo.get('unknown-id')).toBeUndefined();
  });

  it('records a callback once: the first writer gets "recorded", a writer with the same read gets "exists"', async () => {
    await repo.create(attempt, secrets);
    const read = (await repo.get(attempt.authorizationId))!;
    const callback = { outcome: 'code' as const, fingerprint: 'fp-1', receivedAt: '2030-01-01T00:01:00.000Z' };
    expect(await repo.recordCallback(read, callback, { code: CODE })).toBe('recorded');
    expect(await repo.recordCallback(read, { ...callback, fingerprint: 'fp-2' }, { code: 'another-code' })).toBe('exists');

    const after = (await repo.get(attempt.authorizationId))!;
    expect(after.callback).toEqual({ outcome: 'code', fingerprint: 'fp-1', error: undefined, errorDescription: undefined, receivedAt: callback.receivedAt });
    expect(await repo.openCallback(after)).toEqual({ code: CODE });
    expect(await repo.openSecrets(after)).toEqual(secrets);
    expect(JSON.stringify(await client.getEntity(attempt.authorizationId, 'attempt'))).not.toContain(CODE);
  });

  it('records a denial with the provider’s error and no secrets', async () => {
    await repo.create(attempt, secrets);
    const read = (await repo.get(attempt.authorizationId))!;
    const denial = { outcome: 'denied' as const, fingerprint: 'fp-d', error: 'access_denied', errorDescription: 'The user said no', receivedAt: '2030-01-01T00:01:00.000Z' };
    expect(await repo.recordCallback(read, denial, undefined)).toBe('recorded');
    const after = (await repo.get(attempt.authorizationId))!;
    expect(after.callback).toEqual(denial);
    expect(after.sealedCallback).toBeUndefined();
  });

  it('when marked exchanged, then the sealed code is dropped and the time recorded', async () => {
    await repo.create(attempt, secrets);
    const read = (await repo.get(attempt.authorizationId))!;
    await repo.recordCallback(read, { outcome: 'code', fingerprint: 'fp-1', receivedAt: '2030-01-01T00:01:00.000Z' }, { code: CODE });
    const recorded = (await repo.get(attempt.authorizationId))!;
    expect(recorded.sealedCallback).toEqual(expect.any(String));

    await repo.markExchanged(recorded, '2030-01-01T00:01:05.000Z');
    const exchanged = (await repo.get(attempt.authorizationId))!;
    expect(exchanged.exchangedAt).toBe('2030-01-01T00:01:05.000Z');
    expect(exchanged.sealedCallback).toBeUndefined();
    expect(await repo.openCallback(exchanged)).toBeUndefined();
    const raw = await client.getEntity<Record<string, unknown>>(attempt.authorizationId, 'attempt');
    expect(raw.callbackSecrets ?? '').toBe('');
    expect(exchanged.callback?.fingerprint).toBe('fp-1');
  });

  it('marking or deleting an attempt that no longer exists is a no-op', async () => {
    await repo.create(attempt, secrets);
    const read = (await repo.get(attempt.authorizationId))!;
    await repo.delete(attempt.authorizationId);
    await repo.delete(attempt.authorizationId);
    await expect(repo.markExchanged(read, '2030-01-01T00:02:00.000Z')).resolves.toBeUndefined();
    expect(await repo.get(attempt.authorizationId)).toBeUndefined();
  });
});
