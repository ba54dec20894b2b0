import { Activities } from '../../../src/durable/names';
import type { NotifyWebhookInput, WebhookDeliveryInput } from '../../../src/durable/contract';
import { webhookDeliveryOrchestrator } from '../../../src/orchestrations/webhook-delivery';
import { DEFAULT_WEBHOOK_RETRY, type WebhookRetrySchedule } from '../../../src/domain/webhook-retry';
import { asTask, fakeContext, type MarkerTask } from './_fake-context';

const event: NotifyWebhookInput = {
  connectionId: 'conn-1',
  clientId: 'app1',
  provider: 'acme',
  protocol: 'oauth2',
  type: 'connection.refresh_failed',
  eventId: 'event-1',
  occurredAt: '2030-01-01T00:00:00.000Z',
  error: { code: 'PROVIDER_UNAVAILABLE', message: 'refresh failed: PROVIDER_UNAVAILABLE' },
};
const START = new Date('2030-01-01T00:00:00.000Z');

/**
 * Drives the orchestration through failing attempts: each failed delivery is answered with an
 * exception, each timer fires at its own time (the fake clock jumps there), so a day of retries
 * runs in microseconds.
 */
function runFailing(input: WebhookDeliveryInput, succeedOnAttempt?: number) {
  const fake = fakeContext({ input, now: START });
  const dfContext = fake.context.df as unknown as { currentUtcDateTime: Date };
  const gen = webhookDeliveryOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const timers: Date[] = [];
  const deliveries: MarkerTask[] = [];
  let step = gen.next();
  while (!step.done) {
    const task = asTask(step.value);
    if (task.kind === 'timer') {
      timers.push(task.fireAt!);
      dfContext.currentUtcDateTime = task.fireAt!;
      step = gen.next();
    } else if (task.name === Activities.DeliverWebhook) {
      deliveries.push(task);
      step = deliveries.length === succeedOnAttempt ? gen.next({ status: 204 }) : gen.throw(new Error(`UPSTREAM_UNREACHABLE: webhook receiver answered 500 (attempt ${deliveries.length})`));
    } else {
      break;
    }
  }
  return { step, timers, deliveries, gen };
}

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;

describe('webhook delivery orchestration', () => {
  it('delivers the event it was given (without the schedule) through the delivery activity', () => {
    const fake = fakeContext({ input: { ...event, retry: DEFAULT_WEBHOOK_RETRY }, now: START });
    const gen = webhookDeliveryOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
    const delivery = asTask(gen.next().value);
    expect(delivery).toMatchObject({ kind: 'activity', name: Activities.DeliverWebhook, input: event });
    expect(gen.next({ status: 204 })).toEqual({ done: true, value: { delivered: true, attempts: 1 } });
  });

  it('when attempts fail, then it waits on durable timers with doubling backoff capped at the maximum, and a later success ends it', () => {
    const schedule: WebhookRetrySchedule = { firstIntervalSeconds: 5, maxIntervalSeconds: 60, retryForSeconds: 3_600 };
    const { step, timers, deliveries } = runFailing({ ...event, retry: schedule }, 6);
    expect(step).toEqual({ done: true, value: { delivered: true, attempts: 6 } });
    expect(deliveries).toHaveLength(6);
    const waits = timers.map((at, i) => seconds(i === 0 ? START : timers[i - 1], at));
    expect(waits).toEqual([5, 10, 20, 40, 60]);
  });

  it('with the default schedule, retries go on for about a day before the event is dead-lettered with its attempts and last error', () => {
    const { step, timers, deliveries, gen } = runFailing({ ...event });
    // The default applies to deliveries enqueued before the schedule rode in the input.
    expect(deliveries).toHaveLength(33);
    expect(seconds(START, timers.at(-1)!)).toBeGreaterThan(23 * 3_600);
    expect(seconds(START, timers.at(-1)!)).toBeLessThanOrEqual(DEFAULT_WEBHOOK_RETRY.retryForSeconds);
    const record = asTask(step.value);
    expect(record).toMatchObject({
      kind: 'activityWithRetry',
      name: Activities.RecordFailedWebhook,
      input: { event, attempts: 33, firstAttemptAt: START.toISOString(), lastError: expect.stringContaining('answered 500 (attempt 33)') },
    });
    expect(gen.next({ recorded: true })).toEqual({ done: true, value: { delivered: false, attempts: 33 } });
  });

  it('a scaled-down schedule (seconds instead of hours) dead-letters as soon as the next wait would leave the window', () => {
    const { step, timers } = runFailing({ ...event, retry: { firstIntervalSeconds: 1, maxIntervalSeconds: 2, retryForSeconds: 5 } });
    expect(timers.map((at) => seconds(START, at))).toEqual([1, 3, 5]);
    expect(asTask(step.value).name).toBe(Activities.RecordFailedWebhook);
  });
});
