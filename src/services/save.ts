/**
 * Optimistic writes of a connection row: re-read and re-decide on an ETag conflict, so a writer never
 * overwrites a change it did not see (e.g. a revocation racing a refresh).
 */
import type { Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import type { Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import type { Runtime } from './runtime';

export type Decide = (
  connection: Connection,
  stored: StoredConnection,
) => { next: Connection; change: { credentials?: Credentials | null; issuedAt?: string | null } } | undefined;

const MAX_ATTEMPTS = 5;

/** Applies `decide` until the write lands; `decide` returning undefined means "nothing to write". */
export async function saveWithRetry(runtime: Pick<Runtime, 'connections'>, first: StoredConnection, decide: Decide): Promise<StoredConnection | undefined> {
  let stored: StoredConnection | undefined = first;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && stored; attempt++) {
    const decision = decide(stored.connection, stored);
    if (!decision) return undefined;
    const etag = await runtime.connections.save(stored, decision.next, decision.change);
    if (etag !== undefined) {
      const issuedAt = decision.change.issuedAt === undefined ? stored.issuedAt : decision.change.issuedAt;
      return { ...stored, connection: decision.next, etag, issuedAt };
    }
    stored = await runtime.connections.get(first.connection.clientId, first.connection.connectionId);
  }
  if (!stored) return undefined;
  throw new BrokerError('CONFLICT', 'the connection kept changing while it was being updated', { transient: true });
}
