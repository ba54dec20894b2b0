/**
 * One orchestration per webhook event (instance id derived from the event id): delivery is tried,
 * then retried after durable timers with exponential backoff for hours (the schedule rides in the
 * input, read from settings at enqueue time), without ever holding up the connection's own
 * orchestration. When the retry window closes, the event is dead-lettered for an operator to see
 * and redeliver.
 */
import * as df from 'durable-functions';
import { notifyWebhookInput, type WebhookDeliveryInput } from '../durable/contract';
import { Activities } from '../durable/names';
import { DEFAULT_WEBHOOK_RETRY, nextAttemptAt } from '../domain/webhook-retry';

/** Failure lines are redacted by the activity; the cut keeps the dead-letter row small. */
const MAX_ERROR_CHARS = 300;
/** Writing the dead letter is one table upsert: a short retry rides out a storage blip. */
const RECORD_RETRY = { firstRetryIntervalMs: 5_000, maxAttempts: 5 } as const;

export function* webhookDeliveryOrchestrator(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
  const input = context.df.getInput() as WebhookDeliveryInput;
  const schedule = input.retry ?? DEFAULT_WEBHOOK_RETRY;
  const event = notifyWebhookInput(input);
  const firstAttemptAt = context.df.currentUtcDateTime;
  for (let attempt = 1; ; attempt += 1) {
    let lastError: string;
    try {
      yield context.df.callActivity(Activities.DeliverWebhook, event);
      return { delivered: true, attempts: attempt };
    } catch (error) {
      lastError = (error instanceof Error ? error.message : String(error)).slice(0, MAX_ERROR_CHARS);
    }
    const retryAt = nextAttemptAt(schedule, firstAttemptAt, attempt, context.df.currentUtcDateTime);
    if (retryAt === undefined) {
      const retry = new df.RetryOptions(RECORD_RETRY.firstRetryIntervalMs, RECORD_RETRY.maxAttempts);
      yield context.df.callActivityWithRetry(Activities.RecordFailedWebhook, retry, { event, attempts: attempt, firstAttemptAt: firstAttemptAt.toISOString(), lastError });
      return { delivered: false, attempts: attempt };
    }
    yield context.df.createTimer(retryAt);
  }
}
