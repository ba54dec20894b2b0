/**
 * Connection rows: PartitionKey = one of the client's spread partitions (or, for rows written before
 * spreading, the client id; see connection-keys.ts), RowKey = connection id. A client reaches only
 * its own partitions. Credentials are a sealed property bound to the row's instance id (client +
 * connection id; the connection id alone for legacy rows), so a row copied to another id or another
 * client cannot be opened.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { EXPIRY_SOURCES, ON_EXISTING_ACCOUNT } from '../domain/connection';
import type { Connection, ConnectionError, ConnectionStatus, Protocol, RefreshAttempts, SessionBinding, UpstreamAccount } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import type { ConnectionWrites } from './connection-writes';
import type { Credentials } from './credentials';
import {
  identityOfRow,
  legacyPartitionKey,
  partitionKeyOf,
  spreadPartitionKey,
  spreadPartitionRange,
} from './connection-keys';
import type { Sealer } from './sealer';
import { isStatus } from './tables';
import { setNewest } from '../domain/bounded-map';
import { SharedReads } from './shared-reads';

/** Storage round trips one list call may make (filters can make pages sparse); then it answers what it has. */
const MAX_LIST_REQUESTS = 5;
/** Largest page read while counting (the Table service's own maximum). */
const COUNT_PAGE_SIZE = 1000;
/**
 * Rows this process last wrote that it keeps (the oldest written is forgotten first): room for
 * every refreshing connection of a large host, at a few hundred bytes of sealed row each.
 */
export const WRITTEN_ROWS_KEPT = 50_000;
/** Clients whose legacy partition this process has looked at (the oldest looked at is forgotten first). */
export const LEGACY_PARTITIONS_KEPT = 10_000;

interface ConnectionEntity {
  partitionKey: string;
  rowKey: string;
  provider: string;
  protocol: string;
  status: string;
  scopes: string;
  endUserId?: string;
  metadata?: string;
  returnTo?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt?: string;
  issuedAt?: string;
  lastRefreshedAt?: string;
  authorizationExpiresAt?: string;
  authorizationId?: string;
  credentialsVersion: number;
  credentials?: string;
  credentialsKeyId?: string;
  error?: string;
  refreshLeaseOwner?: string;
  refreshLeaseUntil?: string;
  refreshDueAt?: string;
  binding?: string;
  /** JSON of the upstream account (who connected): issuer, subject, display name, email. */
  account?: string;
  /** The account's issuer and subject again, as plain columns a list filter can query. */
  accountIssuer?: string;
  accountSubject?: string;
  onExistingAccount?: string;
  mergedInto?: string;
  expiresAtSource?: string;
  /** JSON of the failed-refresh count. */
  refreshAttempts?: string;
  grant?: string;
  devicePollIntervalSeconds?: number;
}

export interface StoredConnection {
  connection: Connection;
  /** When the current access token was issued (refresh policy input). */
  issuedAt: string | null;
  etag: string;
  sealedCredentials?: string;
  credentialsKeyId?: string;
}

export interface ListFilters {
  provider?: string;
  status?: string;
  endUserId?: string;
  /** The upstream account's subject (with `accountIssuer`, one account exactly). */
  accountSubject?: string;
  accountIssuer?: string;
}

export class ConnectionsRepository {
  /** Each row as this process last wrote it (with its new ETag), by `memoryKey`. */
  private readonly written = new Map<string, StoredConnection>();
  /** Whether each client's legacy partition held any row when this process last looked. */
  private readonly legacyPartitions = new Map<string, 'empty' | 'occupied'>();
  private readonly sharedReads = new SharedReads<StoredConnection | undefined>();

  constructor(
    private readonly table: TableClient,
    private readonly sealer: Sealer,
    /** Told of every row this process writes, so waiters in it need not poll for their change. */
    private readonly writes?: ConnectionWrites,
    private readonly writtenRowsKept = WRITTEN_ROWS_KEPT,
    private readonly legacyPartitionsKept = LEGACY_PARTITIONS_KEPT,
  ) {}

  /**
   * Inserts a new row. `known.legacyExists` is what a read just made (`countWithStatusAndLegacy`)
   * answered, so the legacy partition is not read again; without it the partition is read unless
   * seen empty.
   */
  async create(connection: Connection, known?: { legacyExists: boolean }): Promise<string> {
    // New rows never go to the legacy partition, so a legacy row with this id cannot appear after
    // this read: the check and the insert below cannot race.
    const legacy = connection.instanceId === connection.connectionId;
    if (!legacy && (known ? known.legacyExists : await this.legacyRowExists(connection.clientId, connection.connectionId))) {
      throw exists(connection.connectionId);
    }
    try {
      const entity = toEntity(connection, null);
      const result = await this.table.createEntity(entity);
      if (legacy) this.learnLegacyPartition(connection.clientId, 'occupied');
      this.remember(memoryKey(connection.clientId, connection.connectionId), entity, result.etag);
      return result.etag ?? '';
    } catch (error) {
      if (isStatus(error, 409)) throw exists(connection.connectionId);
      throw storageError(error);
    }
  }

  private async legacyRowExists(clientId: string, connectionId: string): Promise<boolean> {
    if (await this.legacyPartitionEmpty(clientId)) return false;
    return (await this.read(legacyPartitionKey(clientId), connectionId)) !== undefined;
  }

  /**
   * The client's row: its spread partition first, then (dual read) the legacy one. A miss always
   * reads both: misses are rare, and a row an older version's host writes during a rolling upgrade
   * stays visible.
   */
  async get(clientId: string, connectionId: string): Promise<StoredConnection | undefined> {
    return (await this.read(spreadPartitionKey(clientId, connectionId), connectionId)) ?? (await this.read(legacyPartitionKey(clientId), connectionId));
  }

  /**
   * Whether the client's legacy partition holds no row at all (of any status: a revoked legacy row
   * still takes its id). New rows never go there, so once seen empty it stays empty: a start's quota
   * count and id check skip it after one keys-only `$top=1` query per client and process. The
   * exception is a rolling deployment from a version that wrote rows there (before spreading): an id
   * such a host takes after this process saw the partition empty can be started here again until
   * this process restarts (reads, lists and deletes still look there, so its row stays in use).
   */
  private async legacyPartitionEmpty(clientId: string): Promise<boolean> {
    const known = this.legacyPartitions.get(clientId);
    if (known) return known === 'empty';
    let page;
    try {
      page = await this.table
        .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${legacyPartitionKey(clientId)}`, select: ['RowKey'] } })
        .byPage({ maxPageSize: 1 })
        .next();
    } catch (error) {
      throw storageError(error);
    }
    // An empty page that names a continuation proves nothing: taken as occupied (the reads stay).
    const empty = page.done || (page.value.length === 0 && !page.value.continuationToken);
    return this.learnLegacyPartition(clientId, empty ? 'empty' : 'occupied') === 'empty';
  }

  /** What a look (or a legacy insert) found; a legacy row this process created meanwhile wins. */
  private learnLegacyPartition(clientId: string, state: 'empty' | 'occupied'): 'empty' | 'occupied' {
    const learnt = this.legacyPartitions.get(clientId) === 'occupied' ? 'occupied' : state;
    setNewest(this.legacyPartitions, clientId, learnt, this.legacyPartitionsKept);
    return learnt;
  }

  private async read(partitionKey: string, rowKey: string): Promise<StoredConnection | undefined> {
    try {
      return fromEntity(await this.table.getEntity<ConnectionEntity>(partitionKey, rowKey));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw storageError(error);
    }
  }

  /**
   * The row as this process last wrote it, without a storage request; undefined when it has not
   * written it (or forgot it). It may be stale, as another process may have written since: only for
   * a caller whose next request is a write conditional on this row's ETag (a stale row fails that
   * write with 412 and is read afresh), never for deciding anything without such a write. A promise
   * although it reads memory only: with telemetry on, the port is used through tracedMethods, which
   * makes every method one.
   */
  async lastWritten(clientId: string, connectionId: string): Promise<StoredConnection | undefined> {
    return this.written.get(memoryKey(clientId, connectionId));
  }

  private remember(key: string, entity: ConnectionEntity, etag: string | undefined): StoredConnection {
    const stored = fromEntity({ ...entity, etag: etag ?? '' } as TableEntityResult<ConnectionEntity>);
    if (etag) setNewest(this.written, key, stored, this.writtenRowsKept);
    else this.written.delete(key);
    return stored;
  }

  async require(clientId: string, connectionId: string): Promise<StoredConnection> {
    return found(connectionId, await this.get(clientId, connectionId));
  }

  /**
   * `require` for a caller that only looks at the row (the proxy's check on every call): calls for
   * one row at the same time share a storage request that began after each of them (shared-reads.ts),
   * so each still sees every write that ended before it asked. The answer is shared: never changed.
   */
  async requireShared(clientId: string, connectionId: string): Promise<StoredConnection> {
    return found(connectionId, await this.sharedReads.read(memoryKey(clientId, connectionId), () => this.get(clientId, connectionId)));
  }

  /**
   * Operator lookup without the client id (a cross-partition query; operators are rare callers):
   * every client's row with this connection id, at most `limit` of them.
   */
  async findById(connectionId: string, limit = 10): Promise<StoredConnection[]> {
    const found: StoredConnection[] = [];
    try {
      const pages = this.table
        .listEntities<ConnectionEntity>({ queryOptions: { filter: odata`RowKey eq ${connectionId}` } })
        .byPage({ maxPageSize: limit });
      for await (const page of pages) {
        found.push(...page.map(fromEntity));
        if (found.length >= limit) break;
      }
    } catch (error) {
      throw storageError(error);
    }
    return found.slice(0, limit);
  }

  /**
   * One page of the client's connections: the legacy partition first, then the range of its spread
   * partitions. The continuation is the table's own (base64 JSON of the next keys); its partition key
   * says which part it continues, and both queries stay inside the client's own keys whatever it says.
   */
  async list(
    clientId: string,
    filters: ListFilters,
    top: number,
    continuationToken?: string,
  ): Promise<{ items: Connection[]; continuation?: string }> {
    const legacy = legacyPartitionKey(clientId);
    const range = spreadPartitionRange(clientId);
    let cursor: ListCursor | undefined = continuationToken === undefined ? { part: 'legacy' } : readCursor(continuationToken, legacy, range.from);
    const items: Connection[] = [];
    for (let requests = 0; cursor && items.length < top && requests < MAX_LIST_REQUESTS; requests++) {
      const keys =
        cursor.part === 'legacy'
          ? [odata`PartitionKey eq ${legacy}`]
          : [odata`PartitionKey ge ${range.from}`, odata`PartitionKey lt ${range.to}`];
      const page = await this.query(keys, filters, top - items.length, cursor.token);
      items.push(...page.items);
      if (page.continuation) cursor = { part: cursor.part, token: page.continuation };
      else cursor = cursor.part === 'legacy' ? { part: 'spread' } : undefined;
    }
    return { items, ...(cursor ? { continuation: writeCursor(cursor, range.from) } : {}) };
  }

  /** Operator listing across every client (a cross-partition query), optionally for one client. */
  async listAll(
    filters: ListFilters & { clientId?: string },
    top: number,
    continuationToken?: string,
  ): Promise<{ items: Connection[]; continuation?: string }> {
    if (filters.clientId) return this.list(filters.clientId, filters, top, continuationToken);
    return this.query([], filters, top, continuationToken);
  }

  /**
   * How many of the client's rows have one of `statuses`, counting no further than `atMost`: one
   * query per partition part with every status in its filter, keys only.
   */
  async countWithStatus(clientId: string, statuses: readonly string[], atMost: number): Promise<number> {
    return (await this.countRows(clientId, statuses, atMost)).count;
  }

  /**
   * `countWithStatus`, and whether the legacy partition holds a row with `connectionId`, from the
   * same legacy-partition query (for `create`: the start's quota check and existence read in one),
   * or from none when the partition is empty. At the bound the existence is not known: the count
   * refuses the start anyway.
   */
  async countWithStatusAndLegacy(clientId: string, statuses: readonly string[], atMost: number, connectionId: string): Promise<{ count: number; legacyExists: boolean }> {
    return this.countRows(clientId, statuses, atMost, connectionId);
  }

  private async countRows(clientId: string, statuses: readonly string[], atMost: number, legacyId?: string): Promise<{ count: number; legacyExists: boolean }> {
    const range = spreadPartitionRange(clientId);
    const ofStatus = `(${statuses.map((status) => odata`status eq ${status}`).join(' or ')})`;
    const held = new Set(statuses);
    let counted = 0;
    let legacyExists = false;
    // Two queries, never one OR of both: over disjoint PartitionKey ranges the Table service scans.
    const legacy = (await this.legacyPartitionEmpty(clientId))
      ? []
      : [odata`PartitionKey eq ${legacyPartitionKey(clientId)}` + ` and (${ofStatus}${legacyId === undefined ? '' : odata` or RowKey eq ${legacyId}`})`];
    const spread = odata`PartitionKey ge ${range.from} and PartitionKey lt ${range.to}` + ` and ${ofStatus}`;
    for (const [index, filter] of [...legacy, spread].entries()) {
      const pages = this.table
        .listEntities<{ status?: string }>({ queryOptions: { filter, select: ['RowKey', 'status'] } })
        .byPage({ maxPageSize: Math.min(COUNT_PAGE_SIZE, atMost - counted) });
      try {
        for await (const page of pages) {
          for (const row of page) {
            if (index < legacy.length && row.rowKey === legacyId) legacyExists = true;
            if (held.has(row.status ?? '')) counted += 1;
          }
          if (counted >= atMost) return { count: atMost, legacyExists };
        }
      } catch (error) {
        throw storageError(error);
      }
    }
    return { count: counted, legacyExists };
  }

  private async query(
    clauses: string[],
    filters: ListFilters,
    top: number,
    continuationToken?: string,
  ): Promise<{ items: Connection[]; continuation?: string }> {
    if (filters.provider) clauses.push(odata`provider eq ${filters.provider}`);
    if (filters.status) clauses.push(odata`status eq ${filters.status}`);
    if (filters.endUserId) clauses.push(odata`endUserId eq ${filters.endUserId}`);
    if (filters.accountSubject) clauses.push(odata`accountSubject eq ${filters.accountSubject}`);
    if (filters.accountIssuer) clauses.push(odata`accountIssuer eq ${filters.accountIssuer}`);
    const iterator = this.table
      .listEntities<ConnectionEntity>({ queryOptions: clauses.length > 0 ? { filter: clauses.join(' and ') } : {} })
      .byPage({ maxPageSize: top, continuationToken });
    try {
      const page = await iterator.next();
      if (page.done) return { items: [] };
      return {
        items: page.value.map((entity) => fromEntity(entity).connection),
        continuation: page.value.continuationToken,
      };
    } catch (error) {
      // The SDK decodes the token itself (base64 JSON): a malformed one fails before any request.
      if (isStatus(error, 400) || error instanceof SyntaxError) throw invalidContinuation();
      throw storageError(error);
    }
  }

  /**
   * One page of rows for the watchdog, across every client (a cross-partition query, bounded by
   * `top`): refreshable rows whose recorded due time is before `overdueBefore`, or rows waiting
   * for a callback.
   */
  async watchdogPage(
    kind: 'overdue' | 'awaiting_callback',
    top: number,
    overdueBefore: string,
    continuationToken?: string,
  ): Promise<{ items: StoredConnection[]; continuation?: string }> {
    const filter =
      kind === 'overdue'
        ? odata`refreshDueAt lt ${overdueBefore} and (status eq 'connected' or status eq 'refreshing')`
        : odata`status eq 'awaiting_callback'`;
    const iterator = this.table.listEntities<ConnectionEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: top, continuationToken });
    try {
      const page = await iterator.next();
      if (page.done) return { items: [] };
      return { items: page.value.map(fromEntity), continuation: page.value.continuationToken };
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * Writes `next` over `stored` if the row is unchanged since it was read (ETag). Credentials: a value
   * replaces them, `null` erases them, undefined keeps the sealed ones as they are. Returns the new
   * etag, or undefined when someone else changed (or deleted) the row first.
   */
  async save(
    stored: StoredConnection,
    next: Connection,
    change: { credentials?: Credentials | null; issuedAt?: string | null } = {},
  ): Promise<string | undefined> {
    let sealed: { envelope: string; keyId: string } | null = null;
    if (change.credentials) sealed = await this.sealer.seal(change.credentials, next.instanceId);
    else if (change.credentials === undefined && stored.sealedCredentials) {
      sealed = { envelope: stored.sealedCredentials, keyId: stored.credentialsKeyId ?? '' };
    }
    const issuedAt = change.issuedAt === undefined ? stored.issuedAt : change.issuedAt;
    const entity = toEntity(next, sealed, issuedAt);
    try {
      const result = await this.table.updateEntity(entity, 'Replace', { etag: stored.etag });
      // The row as a read would answer it right after this write.
      const written = this.remember(memoryKey(next.clientId, next.connectionId), entity, result.etag);
      this.writes?.published(next.clientId, next.connectionId, written);
      return result.etag ?? '';
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) {
        // Someone else wrote it since: what this process wrote last is no longer the row.
        this.written.delete(memoryKey(next.clientId, next.connectionId));
        return undefined;
      }
      throw storageError(error);
    }
  }

  async openCredentials(stored: StoredConnection): Promise<Credentials | undefined> {
    if (!stored.sealedCredentials) return undefined;
    return this.sealer.open<Credentials>(stored.sealedCredentials, stored.connection.instanceId);
  }

  /** Deletes the row `get` would answer: the spread one, or else the legacy one. */
  async delete(clientId: string, connectionId: string): Promise<void> {
    for (const partitionKey of [spreadPartitionKey(clientId, connectionId), legacyPartitionKey(clientId)]) {
      try {
        await this.table.deleteEntity(partitionKey, connectionId);
        this.written.delete(memoryKey(clientId, connectionId));
        this.writes?.published(clientId, connectionId, undefined);
        return;
      } catch (error) {
        if (!isStatus(error, 404)) throw storageError(error);
      }
    }
  }
}

/** A row's key in this process's maps. */
const memoryKey = (clientId: string, connectionId: string) => `${clientId}\n${connectionId}`;

type ListCursor = { part: 'legacy' | 'spread'; token?: string };

/**
 * A continuation names the next keys (the table's format); a spread-range one without a row key
 * means "the spread partitions from their start". Anything else is refused as a client error.
 */
function readCursor(token: string, legacy: string, spreadStart: string): ListCursor {
  let next: { nextPartitionKey?: unknown; nextRowKey?: unknown };
  try {
    next = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as typeof next;
  } catch {
    throw invalidContinuation();
  }
  if (typeof next !== 'object' || next === null || typeof next.nextPartitionKey !== 'string') throw invalidContinuation();
  if (next.nextPartitionKey === spreadStart && next.nextRowKey === undefined) return { part: 'spread' };
  return { part: next.nextPartitionKey === legacy ? 'legacy' : 'spread', token };
}

function writeCursor(cursor: ListCursor, spreadStart: string): string {
  return cursor.token ?? Buffer.from(JSON.stringify({ nextPartitionKey: spreadStart })).toString('base64');
}

function invalidContinuation(): BrokerError {
  return new BrokerError('INVALID_REQUEST', 'continuation token is not valid');
}

function found(connectionId: string, stored: StoredConnection | undefined): StoredConnection {
  if (!stored) throw new BrokerError('CONNECTION_NOT_FOUND', `connection "${connectionId}" not found`);
  return stored;
}

function exists(connectionId: string): BrokerError {
  return new BrokerError('CONNECTION_EXISTS', `connection "${connectionId}" already exists`);
}

function toEntity(connection: Connection, sealed: { envelope: string; keyId: string } | null, issuedAt: string | null = null): ConnectionEntity {
  const entity: ConnectionEntity = {
    partitionKey: partitionKeyOf(connection),
    rowKey: connection.connectionId,
    provider: connection.provider,
    protocol: connection.protocol,
    status: connection.status,
    scopes: JSON.stringify(connection.scopes),
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
    credentialsVersion: connection.credentialsVersion,
  };
  if (connection.endUserId !== undefined) entity.endUserId = connection.endUserId;
  if (connection.metadata !== undefined) entity.metadata = JSON.stringify(connection.metadata);
  if (connection.returnTo !== undefined) entity.returnTo = connection.returnTo;
  if (connection.expiresAt) entity.expiresAt = connection.expiresAt;
  if (issuedAt) entity.issuedAt = issuedAt;
  if (connection.lastRefreshedAt) entity.lastRefreshedAt = connection.lastRefreshedAt;
  if (connection.authorizationExpiresAt) entity.authorizationExpiresAt = connection.authorizationExpiresAt;
  if (connection.authorizationId) entity.authorizationId = connection.authorizationId;
  if (connection.error) entity.error = JSON.stringify(connection.error);
  if (connection.refreshLease) {
    entity.refreshLeaseOwner = connection.refreshLease.owner;
    entity.refreshLeaseUntil = connection.refreshLease.until;
  }
  if (connection.refreshDueAt) entity.refreshDueAt = connection.refreshDueAt;
  if (connection.binding) entity.binding = JSON.stringify(connection.binding);
  if (connection.account) {
    entity.account = JSON.stringify(connection.account);
    entity.accountIssuer = connection.account.issuer;
    entity.accountSubject = connection.account.subject;
  }
  if (connection.onExistingAccount) entity.onExistingAccount = connection.onExistingAccount;
  if (connection.mergedInto) entity.mergedInto = connection.mergedInto;
  if (connection.expiresAtSource) entity.expiresAtSource = connection.expiresAtSource;
  if (connection.refreshAttempts) entity.refreshAttempts = JSON.stringify(connection.refreshAttempts);
  if (connection.grant) entity.grant = connection.grant;
  if (connection.devicePollIntervalSeconds !== undefined) entity.devicePollIntervalSeconds = connection.devicePollIntervalSeconds;
  if (sealed) {
    entity.credentials = sealed.envelope;
    if (sealed.keyId) entity.credentialsKeyId = sealed.keyId;
  }
  return entity;
}

function fromEntity(entity: TableEntityResult<ConnectionEntity>): StoredConnection {
  const connection: Connection = {
    ...identityOfRow(entity.partitionKey, entity.rowKey),
    provider: entity.provider,
    protocol: entity.protocol as Protocol,
    status: entity.status as ConnectionStatus,
    scopes: parseJson<string[]>(entity.scopes) ?? [],
    endUserId: entity.endUserId,
    metadata: parseJson<Record<string, unknown>>(entity.metadata),
    returnTo: entity.returnTo,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
    expiresAt: entity.expiresAt ?? null,
    lastRefreshedAt: entity.lastRefreshedAt ?? null,
    authorizationExpiresAt: entity.authorizationExpiresAt,
    authorizationId: entity.authorizationId,
    credentialsVersion: Number(entity.credentialsVersion ?? 0),
    error: parseJson<ConnectionError>(entity.error),
    ...(entity.refreshLeaseOwner && entity.refreshLeaseUntil
      ? { refreshLease: { owner: entity.refreshLeaseOwner, until: entity.refreshLeaseUntil } }
      : {}),
    ...(entity.refreshDueAt ? { refreshDueAt: entity.refreshDueAt } : {}),
    ...(entity.binding ? { binding: parseJson<SessionBinding>(entity.binding) } : {}),
    account: parseJson<UpstreamAccount>(entity.account),
    onExistingAccount: ON_EXISTING_ACCOUNT.find((mode) => mode === entity.onExistingAccount),
    mergedInto: entity.mergedInto,
    expiresAtSource: EXPIRY_SOURCES.find((source) => source === entity.expiresAtSource),
    refreshAttempts: parseJson<RefreshAttempts>(entity.refreshAttempts),
    ...(entity.grant === 'client_credentials' || entity.grant === 'device_code' ? { grant: entity.grant } : {}),
    ...(typeof entity.devicePollIntervalSeconds === 'number' ? { devicePollIntervalSeconds: entity.devicePollIntervalSeconds } : {}),
  };
  return {
    connection,
    issuedAt: entity.issuedAt ?? null,
    etag: entity.etag,
    sealedCredentials: entity.credentials,
    credentialsKeyId: entity.credentialsKeyId,
  };
}

function parseJson<T>(value: string | undefined): T | undefined {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

function storageError(error: unknown): BrokerError {
  return new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { cause: error, transient: true });
}
