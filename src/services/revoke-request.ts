/**
 * DELETE /connections/{id}: revocation runs inside the orchestration when one is running, so it is
 * serialised with refreshes (a refresh can never resurrect revoked credentials); otherwise it runs
 * here. Idempotent: an already revoked connection answers the same.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { isConnectionRunning, raiseConnectionEvent } from '../durable/client';
import { webhookInstanceId, webhookNotification } from '../durable/contract';
import { Events, Orchestrations } from '../durable/names';
import { revokeConnection } from './revoke';
import type { Runtime } from './runtime';
import { waitForConnection } from './wait-for-connection';

export const REVOKE_WAIT_MS = 20_000;
const REVOKE_POLL_MS = 100;

export async function revokeThroughOrchestration(runtime: Runtime, clientId: string, connectionId: string): Promise<void> {
  runtime.tokens.forget(clientId, connectionId);
  const stored = await runtime.connections.require(clientId, connectionId);
  if (stored.connection.status === 'revoked') return;

  const { instanceId } = stored.connection;
  if (await isConnectionRunning(runtime.durable, instanceId)) {
    await raiseConnectionEvent(runtime.durable, instanceId, Events.Revoke, {});
    const revoked = await waitForConnection(runtime, stored.connection, (row) => !row || row.connection.status === 'revoked', {
      timeoutMs: REVOKE_WAIT_MS,
      maxPollMs: REVOKE_POLL_MS,
    });
    // The orchestration's activity may have run in another process: this one forgets too.
    runtime.tokens.forget(clientId, connectionId);
    if (revoked.reached) return;
    // The orchestration did not get to it in time (e.g. its host is down): revoke here, then stop it.
    await revokeConnection(runtime, { clientId, connectionId });
    await runtime.durable.terminate(instanceId, 'revoked').catch(() => undefined);
    await notifyRevoked(runtime, stored.connection);
    return;
  }
  await revokeConnection(runtime, { clientId, connectionId });
  if (!(await runtime.connections.get(clientId, connectionId))) {
    throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
  }
  await notifyRevoked(runtime, stored.connection);
}

/**
 * Without a running orchestration (reauth_required, failed, terminated…) nobody else sends
 * `connection.revoked`, so the delivery orchestration is started from here.
 */
async function notifyRevoked(runtime: Runtime, connection: Connection): Promise<void> {
  if (!runtime.webhooks.has(connection.clientId)) return;
  const event = webhookNotification(connection, 'connection.revoked', randomUUID(), runtime.clock.now().toISOString());
  // The revocation itself has happened; a lost notification must not turn it into an error.
  await runtime.durable.startNew(Orchestrations.WebhookDelivery, { instanceId: webhookInstanceId(event), input: event }).catch(() => undefined);
}
