/**
 * One orchestration per webhook event (instance id derived from the event id): delivery is retried
 * with exponential backoff without ever holding up the connection's own orchestration.
 */
import * as df from 'durable-functions';
import { Activities } from '../durable/names';
import type { NotifyWebhookInput } from '../durable/contract';

/** docs/webhooks.md promises: 6 attempts, backoff from 5 s, doubling. */
export const WEBHOOK_RETRY = { firstRetryIntervalMs: 5_000, maxAttempts: 6, backoffCoefficient: 2 } as const;

export function* webhookDeliveryOrchestrator(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
  const event = context.df.getInput() as NotifyWebhookInput;
  const retry = new df.RetryOptions(WEBHOOK_RETRY.firstRetryIntervalMs, WEBHOOK_RETRY.maxAttempts);
  retry.backoffCoefficient = WEBHOOK_RETRY.backoffCoefficient;
  try {
    yield context.df.callActivityWithRetry(Activities.DeliverWebhook, retry, event);
    return { delivered: true };
  } catch {
    return { delivered: false };
  }
}
