/**
 * Operator routes name a connection by its public id, which is unique per client only. With
 * `?clientId=` the lookup is that client's row; without it, the id must belong to exactly one
 * client, otherwise the request is refused with the clients that hold it (operators may see them).
 */
import { toConnectionView, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import type { StoredConnection } from '../storage/connections-repo';
import { providerSunsetOf } from './provider-clients';
import type { Runtime } from './runtime';

/** How many holders of one id an ambiguous lookup names. */
const MAX_NAMED_HOLDERS = 10;

export async function findOperatorConnection(runtime: Runtime, connectionId: string, clientId: string | undefined): Promise<StoredConnection> {
  if (clientId !== undefined) {
    const stored = await runtime.connections.get(clientId, connectionId);
    if (!stored) throw notFound();
    return stored;
  }
  const found = await runtime.connections.findById(connectionId, MAX_NAMED_HOLDERS);
  if (found.length === 0) throw notFound();
  if (found.length > 1) {
    const clientIds = found.map((s) => s.connection.clientId);
    throw new BrokerError('INVALID_REQUEST', `connection id "${connectionId}" is held by several clients; name one with ?clientId=`, {
      details: { field: 'clientId', clientIds },
    });
  }
  return found[0];
}

/** The client view plus what operators also see: the owning client, the orchestration's instance id. */
export function operatorConnectionView(runtime: Pick<Runtime, 'providers'>, connection: Connection) {
  return {
    ...toConnectionView(connection, providerSunsetOf(runtime, connection.provider)),
    clientId: connection.clientId,
    instanceId: connection.instanceId,
  };
}

function notFound(): BrokerError {
  return new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
}
