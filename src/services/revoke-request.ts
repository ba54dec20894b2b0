/**
 * DELETE /connections/{id}: revocation runs inside the orchestration when one is running, so it is
 * serialised with refreshes (a refresh can never resurrect revoked credentials); otherwise it runs
 * here. Idempotent: an already revoked connection answers the same.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { Events, Orchestrations } from '../durable/names';
import type { NotifyWebhookInput } from '../orchestrations/connection-types';
import { DurableClientLike, isRunning, tryGetStatus } from './durable';
import { revokeConnection } from './revoke';
import type { Runtime } from './runtime';

export const REVOKE_WAIT_MS = 20_000;

export async function revokeThroughOrchestration(runtime: Runtime, durable: DurableClientLike, clientId: string, connectionId: string): Promise<void> {
  const stored = await runtime.connections.require(clientId, connectionId);
  if (stored.connection.status === 'revoked') return;

  const status = await tryGetStatus(durable, connectionId);
  if (status && isRunning(status.runtimeStatus)) {
    await durable.raiseEvent(connectionId, Events.Revoke, {});
    const deadline = Date.now() + REVOKE_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const current = await runtime.connections.get(clientId, connectionId);
      if (!current || current.connection.status === 'revoked') return;
    }
    // The orchestration did not get to it in time (e.g. its host is down): revoke here, then stop it.
    await revokeConnection(runtime, { clientId, connectionId });
    await durable.terminate(connectionId, 'revoked').catch(() => undefined);
    await notifyRevoked(runtime, durable, stored.connection);
    return;
  }
  await revokeConnection(runtime, { clientId, connectionId });
  if (!(await runtime.connections.get(clientId, connectionId))) {
    throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
  }
  await notifyRevoked(runtime, durable, stored.connection);
}

/**
 * Without a running orchestration (reauth_required, failed, terminated…) nobody else sends
 * `connection.revoked`, so the delivery orchestration is started from here.
 */
async function notifyRevoked(runtime: Runtime, durable: DurableClientLike, connection: Connection): Promise<void> {
  if (!runtime.hasWebhook(connection.clientId)) return;
  const event: NotifyWebhookInput = {
    connectionId: connection.connectionId,
    clientId: connection.clientId,
    provider: connection.provider,
    protocol: connection.protocol,
    type: 'connection.revoked',
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
  };
  // The revocation itself has happened; a lost notification must not turn it into an error.
  await durable.startNew(Orchestrations.WebhookDelivery, { instanceId: `webhook-${event.eventId}`, input: event }).catch(() => undefined);
}
