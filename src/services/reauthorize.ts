/**
 * POST /connections/{id}/reauthorize: a new authorization attempt for the same connection id. The
 * running orchestration switches to it (event); a finished one is started again. The previous
 * credentials stay sealed in the row until the new exchange replaces them.
 */
import { BrokerError } from '../domain/errors';
import { raiseOrStart } from '../durable/client';
import { authorizePhaseInput } from '../durable/contract';
import { Events } from '../durable/names';
import { beginAuthorization } from './begin-authorization';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';
import type { StartedConnection } from './start-connection';

export async function reauthorize(runtime: Runtime, clientId: string, connectionId: string): Promise<StartedConnection> {
  const stored = await runtime.connections.require(clientId, connectionId);
  if (stored.connection.status === 'revoked') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  const provider = runtime.providers.get(stored.connection.provider);
  const now = runtime.clock.now();
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

  // Awaiting consent again: the old token is not handed out, not even from this process's cache.
  runtime.tokens.forget(clientId, connectionId);

  const deadline = attempt.expiresAt;
  const outcome = await raiseOrStart(runtime.durable, connectionId, Events.Reauthorize, { authorizationId: attempt.authorizationId, deadline }, () =>
    authorizePhaseInput(saved.connection, { authorizationId: attempt.authorizationId, deadline }),
  );
  if (outcome === 'lost') {
    throw new BrokerError('STORAGE_UNAVAILABLE', 'the connection could not be switched to the new authorization; retry', { transient: true });
  }
  return {
    connectionId,
    provider: provider.name,
    status: 'awaiting_callback',
    authorizationUrl: attempt.authorizationUrl,
    authorizationExpiresAt: attempt.expiresAt,
  };
}
