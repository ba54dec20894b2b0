/**
 * Dead-lettered webhook deliveries: recorded when an event's retry window closes, listed for the
 * operator, and redelivered on request (one immediate attempt; the row goes once it succeeds).
 */
import { BrokerError } from '../domain/errors';
import type { NotifyWebhookInput, RecordFailedWebhookInput } from '../durable/contract';
import { redact, redactText } from '../logging/redact';
import type { FailedWebhook } from '../storage/failed-webhooks-repo';
import type { Runtime } from './runtime';
import { deliverWebhook, webhookPayloadOf } from './webhooks';

export const MAX_FAILED_WEBHOOKS_LISTED = 100;

export async function recordFailedWebhook(runtime: Runtime, input: RecordFailedWebhookInput): Promise<{ recorded: true }> {
  const payload = await webhookPayloadOf(runtime, input.event);
  await runtime.failedWebhooks.record({
    deliveryId: input.event.eventId,
    event: input.event,
    webhookId: payload.id,
    attempts: input.attempts,
    firstAttemptAt: input.firstAttemptAt,
    failedAt: runtime.clock.now().toISOString(),
    lastError: redactText(input.lastError),
    payload: JSON.stringify(redact(JSON.parse(payload.body))),
  });
  return { recorded: true };
}

export async function listFailedWebhooks(runtime: Runtime): Promise<FailedWebhook<NotifyWebhookInput>[]> {
  return runtime.failedWebhooks.list(MAX_FAILED_WEBHOOKS_LISTED);
}

/**
 * Tries a dead-lettered delivery once more, now. Success removes the dead letter; a failure keeps
 * it (with one more attempt and the new error) and is thrown as `UPSTREAM_UNREACHABLE`.
 */
export async function redeliverFailedWebhook(runtime: Runtime, deliveryId: string): Promise<{ deliveryId: string; status: number }> {
  const failed = await runtime.failedWebhooks.get(deliveryId);
  if (!failed) throw new BrokerError('NOT_FOUND', 'no failed webhook delivery with this id');
  let result: Awaited<ReturnType<typeof deliverWebhook>>;
  try {
    result = await deliverWebhook(runtime, failed.event);
  } catch (error) {
    const lastError = redactText(error instanceof Error ? error.message : String(error));
    await runtime.failedWebhooks.record({ ...failed, attempts: failed.attempts + 1, failedAt: runtime.clock.now().toISOString(), lastError });
    throw error;
  }
  if ('skipped' in result) throw new BrokerError('CONFLICT', `client "${failed.event.clientId}" no longer has a webhook URL`);
  await runtime.failedWebhooks.remove(deliveryId);
  return { deliveryId, status: result.status };
}
