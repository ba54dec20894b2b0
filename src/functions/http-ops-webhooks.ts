/** Operator routes for dead-lettered webhook deliveries: list them, redeliver one. */
import { app } from '@azure/functions';
import { BrokerError } from '../domain/errors';
import { json, operatorRoute } from '../http/handler';
import { listFailedWebhooks, redeliverFailedWebhook } from '../services/failed-webhooks';
import type { NotifyWebhookInput } from '../durable/contract';
import type { FailedWebhook } from '../storage/failed-webhooks-repo';

const DELIVERY_ID_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

function failedWebhookView(failed: FailedWebhook<NotifyWebhookInput>) {
  const { event } = failed;
  return {
    deliveryId: failed.deliveryId,
    webhookId: failed.webhookId,
    type: event.type,
    clientId: event.clientId,
    connectionId: event.connectionId,
    provider: event.provider,
    occurredAt: event.occurredAt,
    attempts: failed.attempts,
    firstAttemptAt: failed.firstAttemptAt,
    failedAt: failed.failedAt,
    lastError: failed.lastError,
    payload: JSON.parse(failed.payload) as unknown,
  };
}

app.http('opsListFailedWebhooks', {
  route: 'ops/webhooks/failed',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: operatorRoute(async ({ runtime }) => json(200, { items: (await listFailedWebhooks(runtime)).map(failedWebhookView) })),
});

app.http('opsRedeliverWebhook', {
  route: 'ops/webhooks/failed/{deliveryId}/redeliver',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: operatorRoute(async ({ request, runtime }) => {
    const deliveryId = request.params.deliveryId ?? '';
    if (!DELIVERY_ID_PATTERN.test(deliveryId)) throw new BrokerError('NOT_FOUND', 'no failed webhook delivery with this id');
    return json(200, { ...(await redeliverFailedWebhook(runtime, deliveryId)), delivered: true });
  }),
});
