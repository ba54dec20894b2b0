/**
 * Webhook delivery: the signed POST of one event to the client's URL. Never carries a token: the
 * payload is built from a whitelist (src/webhooks/payload.ts).
 */
import axios from 'axios';
import { getConfig } from '../config';
import { BrokerError } from '../domain/errors';
import type { NotifyWebhookInput } from '../orchestrations/connection-types';
import { buildWebhookPayload } from '../webhooks/payload';
import { buildWebhookHeaders } from '../webhooks/signature';
import type { Runtime } from './runtime';

export const WEBHOOK_TIMEOUT_MS = 10_000;

export async function deliverWebhook(runtime: Runtime, event: NotifyWebhookInput): Promise<{ status: number } | { skipped: true }> {
  const target = getConfig().webhooks.get(event.clientId);
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
    timestampSeconds: Math.floor(Date.now() / 1000),
  });
  const response = await axios.post(target.url, payload.body, {
    headers,
    timeout: WEBHOOK_TIMEOUT_MS,
    maxRedirects: 0,
    proxy: false,
    validateStatus: () => true,
    transformRequest: [(data: string) => data],
  }).catch((error: unknown) => {
    throw new BrokerError('UPSTREAM_UNREACHABLE', `webhook receiver not reachable (${(error as { code?: string }).code ?? 'error'})`, { transient: true });
  });
  if (response.status < 200 || response.status >= 300) {
    throw new BrokerError('UPSTREAM_UNREACHABLE', `webhook receiver answered ${response.status}`, { transient: true });
  }
  return { status: response.status };
}
