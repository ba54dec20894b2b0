/** Webhook enqueue (called by connection orchestrations), delivery orchestration and activity. */
import * as df from 'durable-functions';
import { type NotifyWebhookInput, webhookInstanceId } from '../durable/contract';
import { Activities, Orchestrations } from '../durable/names';
import { safeActivity } from '../durable/safe-activity';
import { webhookDeliveryOrchestrator } from '../orchestrations/webhook-delivery';
import { getWiring } from '../runtime';
import { deliverWebhook } from '../services/webhooks';

df.app.orchestration(Orchestrations.WebhookDelivery, webhookDeliveryOrchestrator);

df.app.activity(Activities.EnqueueWebhook, {
  extraInputs: [df.input.durableClient()],
  handler: async (event: NotifyWebhookInput, context) => {
    const runtime = await getWiring().runtimeFor(context);
    if (!runtime.webhooks.has(event.clientId)) return { enqueued: false };
    try {
      await runtime.durable.startNew(Orchestrations.WebhookDelivery, { instanceId: webhookInstanceId(event), input: event });
    } catch (error) {
      // At-least-once: a re-run finds its delivery already started, which is what we want.
      context.warn(JSON.stringify({ level: 'warn', msg: 'webhook delivery not started', connectionId: event.connectionId, error: (error as Error).message }));
    }
    return { enqueued: true };
  },
});

df.app.activity(Activities.DeliverWebhook, {
  handler: safeActivity(async (event: NotifyWebhookInput, context) => deliverWebhook(await getWiring().runtimeFor(context), event)),
});
