/**
 * Several hosts on one task hub: which instances this host runs (those of the partitions whose leases
 * it holds), how a message reaches an instance another host runs (its inbox row, then a note in the
 * partition's queue), and what happens when a partition changes hands (the loser drops its instances
 * from memory, the winner loads them from storage and resumes them). Leases and notes live in the
 * table `<hub>DevHostControl`, next to the instances' own table.
 */
import { TableClient } from '@azure/data-tables';
import type { HostLogger } from '../log';
import type { DurableSettings } from '../settings';
import { isStatus } from '../storage/lease';
import type { ClusterPort } from './engine-state';
import { PartitionManager } from './partition-manager';
import { partitionName, partitionOf } from './partitions';
import { PartitionQueues } from './partition-queue';

/** What the cluster asks of the engine. */
export interface ClusterEngine {
  recoverWhere(include: (instanceId: string) => boolean): Promise<number>;
  dropWhere(include: (instanceId: string) => boolean): number;
  refresh(instanceId: string): Promise<void>;
}

export interface ClusterOptions {
  connectionString: string;
  hubName: string;
  workerId: string;
  settings: DurableSettings;
  logger: HostLogger;
}

export class Cluster implements ClusterPort {
  private readonly table: TableClient;
  private readonly manager: PartitionManager;
  private readonly queues: PartitionQueues;
  private engine: ClusterEngine | undefined;
  private resumed = 0;
  private started = false;

  constructor(private readonly o: ClusterOptions) {
    const { partitionCount, leaseIntervalMs, leaseRenewIntervalMs, maxQueuePollingIntervalMs } = o.settings;
    this.table = TableClient.fromConnectionString(o.connectionString, `${o.hubName}DevHostControl`, { allowInsecureConnection: true });
    const inPartition = (p: number) => (instanceId: string) => partitionOf(instanceId, partitionCount) === p;
    this.manager = new PartitionManager({
      table: this.table,
      workerId: o.workerId,
      partitionCount,
      leaseIntervalMs,
      renewIntervalMs: leaseRenewIntervalMs,
      logger: o.logger,
      onAcquired: async (p) => {
        const n = (await this.engine?.recoverWhere(inPartition(p))) ?? 0;
        this.resumed += n;
        if (this.started && n > 0) o.logger.info(`Worker '${o.workerId}' resumed ${n} unfinished instance(s) of partition ${partitionName(p)}`);
        this.queues.wake();
      },
      onReleased: (p) => void this.engine?.dropWhere(inPartition(p)),
    });
    this.queues = new PartitionQueues({
      table: this.table,
      partitionCount,
      maxQueuePollingIntervalMs,
      logger: o.logger,
      owned: () => this.manager.ownedPartitions(),
      onNote: async (instanceId) => {
        if (this.owns(instanceId)) await this.engine?.refresh(instanceId);
      },
    });
  }

  owns(instanceId: string): boolean {
    return this.manager.owns(partitionOf(instanceId, this.o.settings.partitionCount));
  }

  notify(instanceId: string): Promise<void> {
    return this.queues.notify(instanceId);
  }

  /** Takes the partitions it can and resumes their instances; resolves with how many it resumed. */
  async start(engine: ClusterEngine): Promise<number> {
    this.engine = engine;
    try {
      await this.table.createTable();
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    await this.manager.start();
    this.started = true;
    this.queues.start();
    return this.resumed;
  }

  /** Stops reading the queues (before the engine stops). */
  stopPolling(): Promise<void> {
    return this.queues.stop();
  }

  /** Gives the leases up (after the engine stopped) so the other hosts take over at once. */
  release(): Promise<void> {
    return this.manager.stop();
  }
}
