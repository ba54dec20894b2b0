/**
 * What every kind of POST /connections does alike: the new row's fields, the orchestration's start
 * (taking the rows back when it cannot start) and the `created` audit event.
 */
import { connectionInstanceId, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import type { ConnectionOrchestrationInput } from '../durable/contract';
import { Orchestrations } from '../durable/names';
import type { Runtime } from './runtime';

export type NewConnectionFields = Pick<Connection, 'clientId' | 'connectionId' | 'provider' | 'protocol' | 'status' | 'scopes' | 'endUserId' | 'metadata'>;

/** A connection row as a start writes it: nothing issued yet (credentials version 0). */
export function newConnectionRow(fields: NewConnectionFields, now: Date): Connection {
  const nowIso = now.toISOString();
  return {
    connectionId: fields.connectionId,
    clientId: fields.clientId,
    instanceId: connectionInstanceId(fields.clientId, fields.connectionId),
    provider: fields.provider,
    protocol: fields.protocol,
    status: fields.status,
    scopes: fields.scopes,
    endUserId: fields.endUserId,
    metadata: fields.metadata,
    createdAt: nowIso,
    updatedAt: nowIso,
    expiresAt: null,
    lastRefreshedAt: null,
    credentialsVersion: 0,
  };
}

/**
 * Starts the connection's orchestration, then records `created`. When the start fails nothing was
 * handed out yet, so the row (and the attempt's pending row, if any) are taken back.
 */
export async function launchConnection(
  runtime: Runtime,
  connection: Connection,
  input: ConnectionOrchestrationInput,
  created: Record<string, unknown>,
): Promise<void> {
  try {
    await runtime.durable.startNew(Orchestrations.Connection, { instanceId: connection.instanceId, input });
  } catch (error) {
    await runtime.connections.delete(connection.clientId, connection.connectionId);
    if (connection.authorizationId) await runtime.authorizations.delete(connection.authorizationId);
    throw new BrokerError('STORAGE_UNAVAILABLE', 'could not start the connection orchestration', { cause: error, transient: true });
  }
  await runtime.audit.record({
    connectionId: connection.connectionId,
    clientId: connection.clientId,
    type: 'created',
    at: connection.createdAt,
    details: { provider: connection.provider, protocol: connection.protocol, ...created },
  });
}
