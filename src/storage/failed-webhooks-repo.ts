/**
 * Dead-lettered webhook deliveries: one row per event whose retry window closed without a `2xx`.
 * PartitionKey is fixed (the operator lists them all, newest first); RowKey is the delivery id (the
 * event's durable id), so a re-run of the recording activity overwrites its own row. The payload is
 * stored redacted, for display only: a redelivery rebuilds it from the event fields. The event is
 * stored as JSON of the caller's type (the durable contract's, which storage does not import).
 */
import type { TableClient } from '@azure/data-tables';
import { isStatus } from './tables';

const PARTITION = 'failed';

export interface FailedWebhook<Event = unknown> {
  deliveryId: string;
  event: Event;
  /** The `webhook-id` receivers saw (the payload's `id`). */
  webhookId: string;
  attempts: number;
  firstAttemptAt: string;
  failedAt: string;
  lastError: string;
  /** The payload as sent, redacted. */
  payload: string;
}

interface FailedWebhookEntity {
  partitionKey: string;
  rowKey: string;
  event: string;
  webhookId: string;
  attempts: number;
  firstAttemptAt: string;
  failedAt: string;
  lastError: string;
  payload: string;
}

export class FailedWebhooksRepository<Event = unknown> {
  constructor(private readonly table: TableClient) {}

  async record(failed: FailedWebhook<Event>): Promise<void> {
    const { deliveryId, event, ...rest } = failed;
    await this.table.upsertEntity<FailedWebhookEntity>({ partitionKey: PARTITION, rowKey: deliveryId, event: JSON.stringify(event), ...rest }, 'Replace');
  }

  async get(deliveryId: string): Promise<FailedWebhook<Event> | undefined> {
    try {
      return fromEntity<Event>(await this.table.getEntity<FailedWebhookEntity>(PARTITION, deliveryId));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** The newest `top` dead letters (a dashboard view, not an archive). */
  async list(top: number): Promise<FailedWebhook<Event>[]> {
    const items: FailedWebhook<Event>[] = [];
    for await (const entity of this.table.listEntities<FailedWebhookEntity>()) items.push(fromEntity<Event>(entity));
    return items.sort((a, b) => b.failedAt.localeCompare(a.failedAt)).slice(0, top);
  }

  async remove(deliveryId: string): Promise<void> {
    try {
      await this.table.deleteEntity(PARTITION, deliveryId);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }
}

function fromEntity<Event>(entity: FailedWebhookEntity): FailedWebhook<Event> {
  return {
    deliveryId: entity.rowKey,
    event: JSON.parse(entity.event) as Event,
    webhookId: entity.webhookId,
    attempts: entity.attempts,
    firstAttemptAt: entity.firstAttemptAt,
    failedAt: entity.failedAt,
    lastError: entity.lastError,
    payload: entity.payload,
  };
}
