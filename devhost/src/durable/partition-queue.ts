/**
 * Wake-up notes for instances owned by another host. A message for an instance (start, event,
 * terminate, a child's outcome) is written to the instance's own inbox rows first; when the instance
 * does not run on the writing host, a note naming it goes into its partition's queue (`q-pNN`, one row
 * per instance). The partition's owner polls its queues, as the Azure Storage backend polls its control
 * queues: at once again after finding work, backing off (doubling) to `maxQueuePollingIntervalMs`
 * when idle. A note is deleted with the ETag it was read with, so one written again meanwhile stays.
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.AzureStorage/Messaging/ControlQueue.cs
 * @see https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-azure-storage-provider#queue-polling
 */
import type { TableClient } from '@azure/data-tables';
import type { HostLogger } from '../log';
import { isStatus } from '../storage/lease';
import { partitionName, partitionOf } from './partitions';

const MIN_POLL_MS = 50;

export function queuePartitionKey(partition: number): string {
  return `q-${partitionName(partition)}`;
}

export interface PartitionQueueOptions {
  table: TableClient;
  partitionCount: number;
  maxQueuePollingIntervalMs: number;
  logger: HostLogger;
  /** Partitions whose queues this host reads now. */
  owned(): number[];
  /** Brings the named instance's inbox into memory (or loads the instance). */
  onNote(instanceId: string): Promise<void>;
}

export class PartitionQueues {
  private intervalMs = MIN_POLL_MS;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: PartitionQueueOptions) {}

  /** Writes a note for the instance's owner (after the message itself is written). */
  async notify(instanceId: string): Promise<void> {
    const partitionKey = queuePartitionKey(partitionOf(instanceId, this.o.partitionCount));
    // A new value each time, so a note rewritten while its owner reads it has a new ETag.
    await this.o.table.upsertEntity({ partitionKey, rowKey: instanceId, At: Date.now() + Math.random() }, 'Replace');
  }

  start(): void {
    this.schedule(0);
  }

  /** Polls soon (a partition was just taken). */
  wake(): void {
    this.intervalMs = MIN_POLL_MS;
    if (!this.polling) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        this.schedule(this.intervalMs);
      });
    }, ms);
  }

  private async poll(): Promise<void> {
    const owned = this.o.owned();
    let found = 0;
    if (owned.length > 0) {
      try {
        const filter = owned.map((p) => `PartitionKey eq '${queuePartitionKey(p)}'`).join(' or ');
        const notes: { partitionKey: string; rowKey: string; etag: string }[] = [];
        for await (const e of this.o.table.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })) {
          notes.push({ partitionKey: String(e.partitionKey), rowKey: String(e.rowKey), etag: String(e.etag) });
        }
        for (const note of notes) {
          if (this.stopped) return;
          await this.o.onNote(note.rowKey);
          found++;
          try {
            await this.o.table.deleteEntity(note.partitionKey, note.rowKey, { etag: note.etag });
          } catch (err) {
            if (!isStatus(err, 412) && !isStatus(err, 404)) throw err;
          }
        }
      } catch (err) {
        this.o.logger.error(`Partition queues: ${(err as Error).message}`);
      }
    }
    this.intervalMs = found > 0 ? MIN_POLL_MS : Math.min(this.intervalMs * 2, this.o.maxQueuePollingIntervalMs);
  }
}
