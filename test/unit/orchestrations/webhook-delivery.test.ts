import { Activities } from '../../../src/durable/names';
import type { NotifyWebhookInput } from '../../../src/durable/contract';
import { WEBHOOK_RETRY, webhookDeliveryOrchestrator } from '../../../src/orchestrations/webhook-delivery';
import { asTask, fakeContext } from './_fake-context';

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

function start() {
  const fake = fakeContext({ input: event, now: new Date('2030-01-01T00:00:00.000Z') });
  const gen = webhookDeliveryOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  return { fake, gen };
}

describe('webhook delivery orchestration', () => {
  it('delivers the event it was given through the delivery activity, with retry and backoff', () => {
    const { gen } = start();
    const delivery = asTask(gen.next().value);
    expect(delivery.kind).toBe('activityWithRetry');
    expect(delivery.name).toBe(Activities.DeliverWebhook);
    expect(delivery.input).toEqual(event);
    expect(delivery.retryOptions).toMatchObject({
      firstRetryIntervalInMilliseconds: WEBHOOK_RETRY.firstRetryIntervalMs,
      maxNumberOfAttempts: WEBHOOK_RETRY.maxAttempts,
      backoffCoefficient: WEBHOOK_RETRY.backoffCoefficient,
    });
  });

  it('when the delivery succeeds, then it completes with delivered true', () => {
    const { gen } = start();
    gen.next();
    expect(gen.next(undefined)).toEqual({ done: true, value: { delivered: true } });
  });

  it('when every attempt fails, then it completes with delivered false instead of failing', () => {
    const { gen } = start();
    gen.next();
    expect(gen.throw(new Error('receiver answered 500'))).toEqual({ done: true, value: { delivered: false } });
  });
});
