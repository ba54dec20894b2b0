/** Webhook enqueue (called by connection orchestrations), delivery orchestration and activity. */
import * as df from 'durable-functions';
import { Activities, Orchestrations } from '../durable/names';
import { safeActivity } from '../durable/safe-activity';
import type { NotifyWebhookInput } from '../orchestrations/connection-types';
import { webhookDeliveryOrchestrator } from '../orchestrations/webhook-delivery';
import { getRuntime } from '../runtime';
import { deliverWebhook } from '../services/webhooks';

df.app.orchestration(Orchestrations.WebhookDelivery, webhookDeliveryOrchestrator);

df.app.activity(Activities.EnqueueWebhook, {
  extraInputs: [df.input.durableClient()],
  handler: async (event: NotifyWebhookInput, context) => {
    if (!(await getRuntime()).hasWebhook(event.clientId)) return { enqueued: false };
    const client = df.getClient(context);
    try {
      await client.startNew(Orchestrations.WebhookDelivery, { instanceId: `webhook-${event.eventId}`, input: event });
    } catch (error) {
      // At-least-once: a re-run finds its delivery already started, which is what we want.
      context.warn(JSON.stringify({ level: 'warn', msg: 'webhook delivery not started', connectionId: event.connectionId, error: (error as Error).message }));
    }
    return { enqueued: true };
  },
});

df.app.activity(Activities.DeliverWebhook, {
  handler: safeActivity(async (event: NotifyWebhookInput) => deliverWebhook(await getRuntime(), event)),
});
