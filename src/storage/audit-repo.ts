/**
 * The per-connection audit trail's rows: PartitionKey = the connection's owner and id
 * (`{clientId}.{connectionId}`, as its instance id: ids are unique per client only), RowKey = the event id, which
 * starts with the event's time (so a partition reads in time order) and is deterministic (so the
 * same event written twice, as an activity run twice would, is one row). Rows hold event types,
 * codes, versions, counts and times only; the details are one JSON property.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { connectionInstanceId } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { isStatus } from './tables';

export interface AuditRow {
  connectionId: string;
  eventId: string;
  type: string;
  at: string;
  clientId: string;
  details: Record<string, unknown>;
}

/** A type, not an interface: a transaction's actions take entities with an index signature. */
type AuditEntity = {
  partitionKey: string;
  rowKey: string;
  type: string;
  at: string;
  clientId: string;
  details: string;
};

export class AuditRepository {
  constructor(private readonly table: TableClient) {}

  /** Writes the row unless one with its id exists: the first writer of an event wins. */
  async insertOnce(row: AuditRow): Promise<void> {
    try {
      await this.table.createEntity(toEntity(row));
    } catch (error) {
      if (isStatus(error, 409)) return;
      throw storageError(error);
    }
  }

  /**
   * Writes rows of one connection's partition in one transaction (one request) unless one of them
   * exists: then row by row, so the rows already there stay the first writer's and the rest are written.
   */
  async insertAllOnce(rows: AuditRow[]): Promise<void> {
    const partitions = new Set(rows.map((row) => connectionInstanceId(row.clientId, row.connectionId)));
    if (rows.length > 1 && partitions.size === 1) {
      try {
        await this.table.submitTransaction(rows.map((row): TransactionAction => ['create', toEntity(row)]));
        return;
      } catch {
        // A re-run finds its rows written (409), or the batch failed: each row on its own decides.
      }
    }
    for (const row of rows) await this.insertOnce(row);
  }

  /** Replaces the row: for running totals that only grow (hourly counts of one process). */
  async upsert(row: AuditRow): Promise<void> {
    try {
      await this.table.upsertEntity(toEntity(row), 'Replace');
    } catch (error) {
      throw storageError(error);
    }
  }

  /** One page of a connection's events in time order, none older than `notBefore`. */
  async list(
    clientId: string,
    connectionId: string,
    options: { notBefore: string; top: number; continuation?: string },
  ): Promise<{ items: AuditRow[]; continuation?: string }> {
    const filter = odata`PartitionKey eq ${connectionInstanceId(clientId, connectionId)} and RowKey ge ${options.notBefore}`;
    const iterator = this.table.listEntities<AuditEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: options.top, continuationToken: options.continuation });
    try {
      const page = await iterator.next();
      if (page.done) return { items: [] };
      return { items: page.value.map(fromEntity), continuation: page.value.continuationToken };
    } catch (error) {
      if (isStatus(error, 400) || error instanceof SyntaxError) throw new BrokerError('INVALID_REQUEST', 'continuation token is not valid');
      throw storageError(error);
    }
  }

  /** Deletes every row older than `before` (an event id prefix), across connections. Answers how many. */
  async prune(before: string): Promise<number> {
    let deleted = 0;
    try {
      for await (const entity of this.table.listEntities<AuditEntity>({ queryOptions: { filter: odata`RowKey lt ${before}`, select: ['PartitionKey', 'RowKey'] } })) {
        await this.table.deleteEntity(entity.partitionKey, entity.rowKey).catch((error: unknown) => {
          if (!isStatus(error, 404)) throw error;
        });
        deleted += 1;
      }
    } catch (error) {
      throw storageError(error);
    }
    return deleted;
  }
}

function toEntity(row: AuditRow): AuditEntity {
  return {
    partitionKey: connectionInstanceId(row.clientId, row.connectionId),
    rowKey: row.eventId,
    type: row.type,
    at: row.at,
    clientId: row.clientId,
    details: JSON.stringify(row.details),
  };
}

function fromEntity(entity: AuditEntity): AuditRow {
  return {
    connectionId: entity.partitionKey.slice(entity.clientId.length + 1),
    eventId: entity.rowKey,
    type: entity.type,
    at: entity.at,
    clientId: entity.clientId,
    details: JSON.parse(entity.details || '{}') as Record<string, unknown>,
  };
}

function storageError(error: unknown): BrokerError {
  return new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { cause: error, transient: true });
}
