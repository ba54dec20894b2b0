/**
 * When a failed webhook delivery is tried again: exponential backoff from `firstIntervalSeconds`,
 * doubling, each wait capped at `maxIntervalSeconds`, for as long as the next attempt still falls
 * within `retryForSeconds` of the first one. Pure, so the delivery orchestration can use it with
 * `context.df.currentUtcDateTime` and tests can walk a day of retries without waiting.
 */
export interface WebhookRetrySchedule {
  firstIntervalSeconds: number;
  maxIntervalSeconds: number;
  /** The whole retry window, measured from the first attempt. */
  retryForSeconds: number;
}

/** 5 s, 10 s, … capped at one hour, for a day: 33 attempts in all (docs/webhooks.md). */
export const DEFAULT_WEBHOOK_RETRY: WebhookRetrySchedule = { firstIntervalSeconds: 5, maxIntervalSeconds: 3_600, retryForSeconds: 86_400 };

const BACKOFF_COEFFICIENT = 2;

/** The wait after failed attempt number `attempt` (1-based). */
export function retryDelaySeconds(schedule: WebhookRetrySchedule, attempt: number): number {
  return Math.min(schedule.maxIntervalSeconds, schedule.firstIntervalSeconds * BACKOFF_COEFFICIENT ** (attempt - 1));
}

/**
 * The time of the attempt after failed attempt `attempt`, or undefined when that would fall outside
 * the retry window (the delivery is then given up and dead-lettered).
 */
export function nextAttemptAt(schedule: WebhookRetrySchedule, firstAttemptAt: Date, attempt: number, now: Date): Date | undefined {
  const next = new Date(now.getTime() + retryDelaySeconds(schedule, attempt) * 1000);
  return next.getTime() - firstAttemptAt.getTime() <= schedule.retryForSeconds * 1000 ? next : undefined;
}
