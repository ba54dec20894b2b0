/**
 * Webhook delivery: the signed POST of one event to the client's URL. Never carries a token: the
 * payload is built from a whitelist (src/webhooks/payload.ts).
 */
import { BrokerError, isBrokerError } from '../domain/errors';
import type { NotifyWebhookInput } from '../durable/contract';
import { buildWebhookPayload } from '../webhooks/payload';
import { buildWebhookHeaders } from '../webhooks/signature';
import type { Runtime } from './runtime';

export const WEBHOOK_TIMEOUT_MS = 10_000;

export async function deliverWebhook(runtime: Runtime, event: NotifyWebhookInput): Promise<{ status: number } | { skipped: true }> {
  const target = runtime.webhooks.get(event.clientId);
  if (!target) return { skipped: true };
  const stored = await runtime.connections.get(event.clientId, event.connectionId);
  const status = stored?.connection.status ?? (event.type === 'connection.revoked' ? 'revoked' : 'failed');
  const payload = buildWebhookPayload({
    type: event.type,
    connectionId: event.connectionId,
    provider: event.provider,
    clientId: event.clientId,
    endUserId: stored?.connection.endUserId,
    status,
    occurredAt: event.occurredAt,
    error: event.error ?? (stored?.connection.error ? { code: stored.connection.error.code, message: stored.connection.error.message } : undefined),
  });
  const headers = buildWebhookHeaders({
    secret: target.secret,
    eventId: payload.id,
    body: payload.body,
    timestampSeconds: Math.floor(runtime.clock.now().getTime() / 1000),
  });
  const response = await runtime.http
    .send({ url: target.url, method: 'POST', headers, body: payload.body }, { timeoutMs: WEBHOOK_TIMEOUT_MS })
    .catch((error: unknown) => {
      const code = isBrokerError(error) ? (error.details?.transportCode as string | undefined) : undefined;
      throw new BrokerError('UPSTREAM_UNREACHABLE', `webhook receiver not reachable (${code ?? 'error'})`, { transient: true });
    });
  if (response.status < 200 || response.status >= 300) {
    throw new BrokerError('UPSTREAM_UNREACHABLE', `webhook receiver answered ${response.status}`, { transient: true });
  }
  return { status: response.status };
}
