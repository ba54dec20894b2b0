/**
 * POST /connections/{id}/reauthorize: a new authorization attempt for the same connection id. The
 * running orchestration switches to it (event); a finished one is started again. The previous
 * credentials stay sealed in the row until the new exchange replaces them.
 */
import { BrokerError } from '../domain/errors';
import { Events, Orchestrations } from '../durable/names';
import type { AuthorizePhaseInput, ReauthorizeEvent } from '../orchestrations/connection-types';
import { beginAuthorization } from './begin-authorization';
import { DurableClientLike, isRunning, tryGetStatus } from './durable';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';
import type { StartedConnection } from './start-connection';

export async function reauthorize(runtime: Runtime, durable: DurableClientLike, clientId: string, connectionId: string): Promise<StartedConnection> {
  const stored = await runtime.connections.require(clientId, connectionId);
  if (stored.connection.status === 'revoked') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  const provider = runtime.provider(stored.connection.provider);
  const now = runtime.now();
  const attempt = await beginAuthorization(runtime, provider, stored.connection, stored.connection.scopes, now);

  const saved = await saveWithRetry(runtime, stored, (connection) =>
    connection.status === 'revoked'
      ? undefined
      : {
          next: {
            ...connection,
            status: 'awaiting_callback',
            authorizationId: attempt.authorizationId,
            authorizationExpiresAt: attempt.expiresAt,
            updatedAt: now.toISOString(),
            error: undefined,
          },
          change: {},
        },
  );
  if (!saved) throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');

  const status = await tryGetStatus(durable, connectionId);
  if (status && isRunning(status.runtimeStatus)) {
    const event: ReauthorizeEvent = { authorizationId: attempt.authorizationId, deadline: attempt.expiresAt };
    await durable.raiseEvent(connectionId, Events.Reauthorize, event);
  } else {
    const input: AuthorizePhaseInput = {
      phase: 'authorize',
      connectionId,
      clientId,
      provider: provider.name,
      protocol: provider.protocol,
      authorizationId: attempt.authorizationId,
      deadline: attempt.expiresAt,
    };
    await durable.startNew(Orchestrations.Connection, { instanceId: connectionId, input });
  }
  return {
    connectionId,
    provider: provider.name,
    status: 'awaiting_callback',
    authorizationUrl: attempt.authorizationUrl,
    authorizationExpiresAt: attempt.expiresAt,
  };
}
