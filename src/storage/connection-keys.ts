/**
 * Where a connection row lives. Table Storage serves about 2,000 operations/s per partition and can
 * split a hot key range only at partition-key boundaries, so one client's rows are spread over
 * `CONNECTION_BUCKETS` partitions, `{clientId}~{bucket}`, the bucket taken from a hash of the
 * connection id. Client ids cannot contain `~` (0x7E, above every character they may hold), so one
 * client's partitions are exactly the key range [`{clientId}~`, `{clientId}~~`): a client's list is
 * one range query over its own partitions and never reads another client's.
 *
 * Legacy rows (written before spreading) have PartitionKey = client id. They are not moved (their
 * orchestration's instance id is their connection id, and moving a row would change it): reads fall
 * back to the legacy key, the list reads the legacy partition first, and new rows never go there.
 */
import { createHash } from 'node:crypto';
import { connectionInstanceId } from '../domain/connection';

/** Fixed for the life of the data: a row's bucket is found again from this count, so changing it needs a migration. */
export const CONNECTION_BUCKETS = 16;
const SEPARATOR = '~';

export function connectionBucket(connectionId: string): number {
  return createHash('sha256').update(connectionId, 'utf8').digest()[0] % CONNECTION_BUCKETS;
}

export function spreadPartitionKey(clientId: string, connectionId: string): string {
  return `${clientId}${SEPARATOR}${connectionBucket(connectionId).toString(16).padStart(2, '0')}`;
}

/** The legacy partition of a client: its rows keep instance id = connection id. */
export function legacyPartitionKey(clientId: string): string {
  return clientId;
}

/** The key range holding every spread partition of one client. */
export function spreadPartitionRange(clientId: string): { from: string; to: string } {
  return { from: `${clientId}${SEPARATOR}`, to: `${clientId}${SEPARATOR}${SEPARATOR}` };
}

export interface RowIdentity {
  clientId: string;
  connectionId: string;
  instanceId: string;
}

/** The row's client and instance id, read from its keys (so a row copied elsewhere does not keep them). */
export function identityOfRow(partitionKey: string, rowKey: string): RowIdentity {
  const separator = partitionKey.lastIndexOf(SEPARATOR);
  if (separator < 0) return { clientId: partitionKey, connectionId: rowKey, instanceId: rowKey };
  const clientId = partitionKey.slice(0, separator);
  return { clientId, connectionId: rowKey, instanceId: connectionInstanceId(clientId, rowKey) };
}

/** The partition a connection belongs in: legacy rows stay where they were. */
export function partitionKeyOf(connection: { clientId: string; connectionId: string; instanceId: string }): string {
  return connection.instanceId === connection.connectionId
    ? legacyPartitionKey(connection.clientId)
    : spreadPartitionKey(connection.clientId, connection.connectionId);
}
