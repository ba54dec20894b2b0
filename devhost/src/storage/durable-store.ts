/**
 * Durable state in one Azure Storage table (`<hub>DevHost`), one partition per instance, so an episode
 * commits with one write: the instance row, which carries the newest history events (its tail), plus —
 * in the same entity-group transaction — a history row when the tail has grown too long and the
 * deletion of the inbox messages the episode consumed. Most episodes are a single entity upsert.
 *
 * Row keys: `i` instance row · `h<gen6>_<index8>` history row: the events from that index on (JSON
 * array `Es`; rows written by earlier versions hold one event in `E`) · `m<time13><seq6>` inbox message ·
 * `<owner>~<field>~<n4>` spill rows for strings too large for one property (64 KiB) or entity (1 MiB).
 * @see https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions
 */
import { TableClient, type TransactionAction, RestError } from '@azure/data-tables';

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Suspended';

export const TERMINAL_STATUSES: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Canceled', 'Terminated']);

/** The instance row. JSON-valued fields hold JSON text (null = absent). */
export interface InstanceRecord {
  instanceId: string;
  name: string;
  status: RuntimeStatus;
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdTime: number;
  lastUpdatedTime: number;
  generation: number;
  /** Events in the current generation's history: the first `historyRows` in history rows, the rest in `historyTail`. */
  historyLength: number;
  historyRows: number;
  /** JSON array of the events after `historyRows` (null = none). */
  historyTail: string | null;
  parentInstanceId: string | null;
  /** Engine bookkeeping (JSON text), opaque to the store. */
  engine: string;
  /** The instance row's ETag as this host last read or wrote it (set by the store). */
  etag?: string;
}

export interface InboxMessage {
  instanceId: string;
  rowKey: string;
  body: string;
}

/** One episode's writes: the instance row, maybe one history row (a JSON array of events from `startIndex` on). */
export interface EpisodeCommit {
  instance: InstanceRecord;
  historyRow?: { generation: number; startIndex: number; eventsJson: string };
  consumedMessages?: string[];
  /**
   * Write the instance row only if it still has this ETag (fails with 412 when another host wrote it
   * since). Azurite ignores If-Match inside entity-group transactions (Azure/Azurite#1233), so there it
   * holds only for episodes that write the instance row alone, the common case.
   */
  ifMatch?: string;
}

const INSTANCE_RK = 'i';
const CHUNK_CHARS = 30_000; // a string property holds 64 KiB of UTF-16 = 32 Ki chars
const CHUNKS_PER_SPILL_ROW = 12; // 12 × 60 KB stays under the 1 MiB entity limit
const MAX_BATCH_OPS = 100;
const MAX_BATCH_CHARS = 1_500_000; // 3 MB of UTF-16, under the 4 MiB changeset limit

type Entity = { partitionKey: string; rowKey: string } & Record<string, unknown>;

const pad = (n: number, width: number) => n.toString().padStart(width, '0');

/** Row key of history event `index` of generation `generation`. */
export function historyRowKey(generation: number, index: number): string {
  return `h${pad(generation, 6)}_${pad(index, 8)}`;
}

let messageCounter = 0;
function newMessageRowKey(): string {
  messageCounter = (messageCounter + 1) % 1_000_000;
  return `m${pad(Date.now(), 13)}${pad(messageCounter, 6)}${Math.random().toString(36).slice(2, 6)}`;
}

function escapeOData(s: string): string {
  return s.replace(/'/g, "''");
}

/** Splits string fields longer than one property into spill rows; returns [mainEntity, ...spillRows]. */
function packEntity(partitionKey: string, rowKey: string, fields: Record<string, string | number | boolean | null>): Entity[] {
  const main: Entity = { partitionKey, rowKey };
  const spills: Entity[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) continue;
    if (typeof value !== 'string' || value.length <= CHUNK_CHARS) {
      main[name] = value;
      continue;
    }
    const chunks: string[] = [];
    for (let i = 0; i < value.length; i += CHUNK_CHARS) chunks.push(value.slice(i, i + CHUNK_CHARS));
    main[`${name}__chunks`] = chunks.length;
    for (let r = 0; r * CHUNKS_PER_SPILL_ROW < chunks.length; r++) {
      const row: Entity = { partitionKey, rowKey: `${rowKey}~${name}~${pad(r, 4)}` };
      chunks.slice(r * CHUNKS_PER_SPILL_ROW, (r + 1) * CHUNKS_PER_SPILL_ROW).forEach((c, i) => (row[`c${i}`] = c));
      spills.push(row);
    }
  }
  return [main, ...spills];
}

function entityChars(e: Entity): number {
  let n = 0;
  for (const v of Object.values(e)) n += typeof v === 'string' ? v.length : 8;
  return n;
}

/** Reads a field packed by packEntity, given the spill rows of the same partition. */
function unpackField(main: Record<string, unknown>, name: string, spills: Map<string, Record<string, unknown>>): string | null {
  const count = main[`${name}__chunks`];
  if (typeof count !== 'number') {
    const v = main[name];
    return v === undefined || v === null ? null : String(v);
  }
  const parts: string[] = [];
  for (let r = 0; r * CHUNKS_PER_SPILL_ROW < count; r++) {
    const row = spills.get(`${String(main.rowKey)}~${name}~${pad(r, 4)}`);
    if (!row) throw new Error(`Spill row ${r} of ${name} missing for ${String(main.partitionKey)}/${String(main.rowKey)}`);
    for (let i = 0; i < CHUNKS_PER_SPILL_ROW && r * CHUNKS_PER_SPILL_ROW + i < count; i++) parts.push(String(row[`c${i}`] ?? ''));
  }
  return parts.join('');
}

function toInstanceRecord(e: Record<string, unknown>, spills: Map<string, Record<string, unknown>>): InstanceRecord {
  const historyLength = Number(e.HistoryLength ?? 0);
  return {
    instanceId: String(e.partitionKey),
    name: String(e.Name ?? ''),
    status: String(e.RuntimeStatus) as RuntimeStatus,
    input: unpackField(e, 'Input', spills),
    output: unpackField(e, 'Output', spills),
    customStatus: unpackField(e, 'CustomStatus', spills),
    createdTime: Number(e.CreatedTime),
    lastUpdatedTime: Number(e.LastUpdatedTime),
    generation: Number(e.Generation ?? 0),
    historyLength,
    // Rows written before the tail existed keep every event in history rows.
    historyRows: e.HistoryRows === undefined ? historyLength : Number(e.HistoryRows),
    historyTail: unpackField(e, 'HistoryTail', spills),
    parentInstanceId: e.ParentInstanceId ? String(e.ParentInstanceId) : null,
    engine: unpackField(e, 'Engine', spills) ?? '{}',
    etag: typeof e.etag === 'string' ? e.etag : undefined,
  };
}

function instanceEntities(r: InstanceRecord): Entity[] {
  return packEntity(r.instanceId, INSTANCE_RK, {
    Name: r.name,
    RuntimeStatus: r.status,
    Input: r.input,
    Output: r.output,
    CustomStatus: r.customStatus,
    CreatedTime: r.createdTime,
    LastUpdatedTime: r.lastUpdatedTime,
    Generation: r.generation,
    HistoryLength: r.historyLength,
    HistoryRows: r.historyRows,
    HistoryTail: r.historyTail,
    ParentInstanceId: r.parentInstanceId,
    Engine: r.engine,
  });
}

/** Inbox messages among message rows (and their spill rows). */
function messagesOf(rows: Record<string, unknown>[]): InboxMessage[] {
  const spills = new Map<string, Record<string, unknown>>();
  for (const r of rows) if (String(r.rowKey).includes('~')) spills.set(String(r.rowKey), r);
  return rows
    .filter((r) => !String(r.rowKey).includes('~'))
    .map((r) => ({ instanceId: String(r.partitionKey), rowKey: String(r.rowKey), body: unpackField(r, 'M', spills) ?? 'null' }));
}

function isStatus(err: unknown, status: number): boolean {
  return err instanceof RestError ? err.statusCode === status : (err as { statusCode?: number })?.statusCode === status;
}

/** Durable instance storage for one task hub. */
export class DurableStore {
  readonly table: TableClient;

  constructor(connectionString: string, hubName: string) {
    this.table = TableClient.fromConnectionString(connectionString, `${hubName}DevHost`, {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    });
  }

  /** Creates the table when missing. */
  async init(): Promise<void> {
    try {
      await this.table.createTable();
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
  }

  private async partitionRows(instanceId: string, from: string, to: string): Promise<Record<string, unknown>[]> {
    const filter = `PartitionKey eq '${escapeOData(instanceId)}' and RowKey ge '${escapeOData(from)}' and RowKey lt '${escapeOData(to)}'`;
    const rows: Record<string, unknown>[] = [];
    for await (const e of this.table.listEntities({ queryOptions: { filter } })) rows.push(e);
    return rows;
  }

  /** The instance row, or undefined. */
  async readInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    let main: Record<string, unknown>;
    try {
      main = await this.table.getEntity(instanceId, INSTANCE_RK);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
    const spills = new Map<string, Record<string, unknown>>();
    if (Object.keys(main).some((k) => k.endsWith('__chunks'))) {
      for (const row of await this.partitionRows(instanceId, `${INSTANCE_RK}~`, `${INSTANCE_RK}\u007f`)) spills.set(String(row.rowKey), row);
    }
    return toInstanceRecord(main, spills);
  }

  /** Instance rows in instance id order, starting after `afterInstanceId`. */
  async *listInstances(afterInstanceId?: string): AsyncGenerator<InstanceRecord> {
    let filter = `RowKey eq '${INSTANCE_RK}'`;
    if (afterInstanceId !== undefined) filter += ` and PartitionKey gt '${escapeOData(afterInstanceId)}'`;
    for await (const e of this.table.listEntities({ queryOptions: { filter } })) {
      const spills = new Map<string, Record<string, unknown>>();
      if (Object.keys(e).some((k) => k.endsWith('__chunks'))) {
        for (const row of await this.partitionRows(String(e.partitionKey), `${INSTANCE_RK}~`, `${INSTANCE_RK}\u007f`)) {
          spills.set(String(row.rowKey), row);
        }
      }
      yield toInstanceRecord(e, spills);
    }
  }

  /** The first `length` history events of a generation kept in history rows (parsed), then those of `tail` (a JSON array). */
  async readHistory(instanceId: string, generation: number, length: number, tail: string | null = null): Promise<unknown[]> {
    const events: unknown[] = [];
    if (length > 0) {
      const prefix = `h${pad(generation, 6)}_`;
      const rows = await this.partitionRows(instanceId, prefix, `h${pad(generation, 6)}\``);
      const spills = new Map<string, Record<string, unknown>>();
      const mains = new Map<string, Record<string, unknown>>();
      for (const row of rows) (String(row.rowKey).includes('~') ? spills : mains).set(String(row.rowKey), row);
      // Rows follow one another: each starts where the previous one ended; a row past `length` is a torn write.
      while (events.length < length) {
        const row = mains.get(historyRowKey(generation, events.length));
        if (!row) throw new Error(`History of ${instanceId} is missing event ${events.length} of generation ${generation}`);
        const many = unpackField(row, 'Es', spills);
        if (many !== null) events.push(...(JSON.parse(many) as unknown[]));
        else events.push(JSON.parse(unpackField(row, 'E', spills) ?? 'null'));
      }
      if (events.length > length) throw new Error(`History of ${instanceId} has a row across event ${length} of generation ${generation}`);
    }
    if (tail !== null) events.push(...(JSON.parse(tail) as unknown[]));
    return events;
  }

  /** Writes a new instance row unless one exists; false when it does. */
  async createInstance(record: InstanceRecord): Promise<boolean> {
    const [main, ...spills] = instanceEntities(record);
    try {
      record.etag = await this.submit(record.instanceId, [...spills.map((e) => ['upsert', e, 'Replace'] as TransactionAction), ['create', main]]);
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false;
      throw err;
    }
  }

  /** Writes a new instance row (replacing an old one). */
  async writeInstance(record: InstanceRecord): Promise<void> {
    record.etag = await this.submit(record.instanceId, instanceEntities(record).map((e) => ['upsert', e, 'Replace'] as TransactionAction));
  }

  /** Commits one episode; the instance row goes in the last transaction, so a torn write is ignored on reload. */
  async commit(c: EpisodeCommit): Promise<void> {
    const actions: TransactionAction[] = [];
    if (c.historyRow) {
      const key = historyRowKey(c.historyRow.generation, c.historyRow.startIndex);
      for (const e of packEntity(c.instance.instanceId, key, { Es: c.historyRow.eventsJson })) actions.push(['upsert', e, 'Replace']);
    }
    for (const rk of c.consumedMessages ?? []) actions.push(['delete', { partitionKey: c.instance.instanceId, rowKey: rk }]);
    const [main, ...spills] = instanceEntities(c.instance);
    for (const e of spills) actions.push(['upsert', e, 'Replace']);
    actions.push(c.ifMatch ? ['update', main, 'Replace', { etag: c.ifMatch }] : ['upsert', main, 'Replace']);
    try {
      c.instance.etag = await this.submit(c.instance.instanceId, actions);
    } catch (err) {
      // A consumed message deleted meanwhile (purge) fails the whole transaction with 404: redo without it.
      if (!isStatus(err, 404) || !c.consumedMessages?.length) throw err;
      c.instance.etag = await this.submit(c.instance.instanceId, actions.filter((a) => a[0] !== 'delete'));
      for (const rk of c.consumedMessages) await this.deleteMessage(c.instance.instanceId, rk);
    }
  }

  /** Writes the actions in as few transactions as fit; resolves with the instance row's new ETag when it was written. */
  private async submit(partitionKey: string, actions: TransactionAction[]): Promise<string | undefined> {
    // Pack from the end so the instance row (last) shares the final transaction with as much as fits.
    const batches: TransactionAction[][] = [];
    let current: TransactionAction[] = [];
    let chars = 0;
    for (let i = actions.length - 1; i >= 0; i--) {
      const size = entityChars(actions[i][1] as Entity);
      if (current.length >= MAX_BATCH_OPS || (current.length > 0 && chars + size > MAX_BATCH_CHARS)) {
        batches.unshift(current);
        current = [];
        chars = 0;
      }
      current.unshift(actions[i]);
      chars += size;
    }
    if (current.length) batches.unshift(current);
    let etag: string | undefined;
    for (const batch of batches) {
      if (batch.length === 1) {
        const written = await this.single(batch[0]);
        if (batch[0][1].rowKey === INSTANCE_RK) etag = written;
      } else {
        const res = await this.table.submitTransaction(batch);
        if (batch.some((a) => a[1].rowKey === INSTANCE_RK)) etag = res.getResponseForEntity(INSTANCE_RK)?.etag;
      }
    }
    void partitionKey;
    return etag;
  }

  /** One write; resolves with the entity's new ETag (none for a delete). */
  private async single(action: TransactionAction): Promise<string | undefined> {
    const [kind, entity] = action;
    if (kind === 'create') return (await this.table.createEntity(entity as Entity)).etag;
    if (kind === 'delete') {
      try {
        await this.table.deleteEntity(entity.partitionKey, entity.rowKey);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
      return undefined;
    }
    if (kind === 'update') return (await this.table.updateEntity(entity as Entity, action[2] ?? 'Replace', action[3])).etag;
    return (await this.table.upsertEntity(entity as Entity, 'Replace')).etag;
  }

  /** Durably queues a message for an instance; resolves with its row key. */
  async addMessage(instanceId: string, body: string): Promise<string> {
    const rowKey = newMessageRowKey();
    const [main, ...spills] = packEntity(instanceId, rowKey, { M: body });
    await this.submit(instanceId, [...spills, main].map((e) => ['upsert', e, 'Replace'] as TransactionAction));
    return rowKey;
  }

  /** Every queued message of every instance, oldest first per instance. */
  async listMessages(): Promise<InboxMessage[]> {
    const filter = `RowKey ge 'm' and RowKey lt 'n'`;
    const rows: Record<string, unknown>[] = [];
    for await (const e of this.table.listEntities({ queryOptions: { filter } })) rows.push(e);
    return messagesOf(rows);
  }

  /** The queued messages of one instance, oldest first. */
  async listInstanceMessages(instanceId: string): Promise<InboxMessage[]> {
    return messagesOf(await this.partitionRows(instanceId, 'm', 'n'));
  }

  /** Deletes a message (already gone is fine). */
  async deleteMessage(instanceId: string, rowKey: string): Promise<void> {
    await this.single(['delete', { partitionKey: instanceId, rowKey }]);
  }

  /** Deletes every row of an instance's partition; true when there was an instance row. */
  async purge(instanceId: string): Promise<boolean> {
    const filter = `PartitionKey eq '${escapeOData(instanceId)}'`;
    const keys: string[] = [];
    for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) keys.push(String(e.rowKey));
    const had = keys.includes(INSTANCE_RK);
    // Instance row first: once it is gone the instance no longer exists, whatever happens next.
    keys.sort((a, b) => (a === INSTANCE_RK ? -1 : b === INSTANCE_RK ? 1 : a < b ? -1 : 1));
    if (had) await this.single(['delete', { partitionKey: instanceId, rowKey: INSTANCE_RK }]);
    const rest = keys.filter((k) => k !== INSTANCE_RK);
    for (let i = 0; i < rest.length; i += MAX_BATCH_OPS) {
      const batch = rest.slice(i, i + MAX_BATCH_OPS).map((rowKey) => ['delete', { partitionKey: instanceId, rowKey }] as TransactionAction);
      try {
        if (batch.length === 1) await this.single(batch[0]);
        else await this.table.submitTransaction(batch);
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    }
    return had;
  }

  /** Deletes history rows of generations older than `generation` (after continueAsNew). Best effort. */
  async deleteOldHistory(instanceId: string, generation: number): Promise<void> {
    const rows = await this.partitionRows(instanceId, 'h', `h${pad(generation, 6)}`);
    for (let i = 0; i < rows.length; i += MAX_BATCH_OPS) {
      const batch = rows
        .slice(i, i + MAX_BATCH_OPS)
        .map((r) => ['delete', { partitionKey: instanceId, rowKey: String(r.rowKey) }] as TransactionAction);
      if (batch.length === 1) await this.single(batch[0]);
      else await this.table.submitTransaction(batch);
    }
  }
}
