/**
 * Partition leases in a table, after the Durable Task Azure Storage backend's table partition manager
 * (partition manager V3): one row per partition (`CurrentOwner`, `NextOwner`, `ExpiresAt`), changed
 * only with the ETag read. Every renew interval each host reads the rows and
 *
 * - renews the leases it holds (a lease not renewed within the lease interval is free to take);
 * - claims a free, expired or handed-over lease;
 * - hands a lease over when another host has asked for it (`NextOwner`): it stops running the
 *   partition's instances, then clears `CurrentOwner`, and the asker claims it;
 * - asks for leases (sets `NextOwner` on the busiest host's) while it holds fewer than its share,
 *   `floor(partitions / hosts)`, the hosts being the owners seen in the rows plus itself.
 *
 * A host counts a lease from the moment it sent the write that took or renewed it, and stops running
 * its instances when its own reckoning says the lease ran out.
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.AzureStorage/Partitioning/TablePartitionManager.cs
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.AzureStorage/Partitioning/TablePartitionLease.cs
 */
import type { TableClient } from '@azure/data-tables';
import type { HostLogger } from '../log';
import { isDeadLocalWorker, isStatus } from '../storage/lease';
import { partitionName } from './partitions';

export const LEASES_PK = 'leases';

export interface PartitionManagerOptions {
  table: TableClient;
  workerId: string;
  partitionCount: number;
  leaseIntervalMs: number;
  renewIntervalMs: number;
  logger: HostLogger;
  /** The partition is this host's now: load and resume its instances. */
  onAcquired(partition: number): Promise<void>;
  /** The partition is no longer this host's: drop its instances from memory. */
  onReleased(partition: number): void;
  now?: () => number;
}

interface LeaseRow {
  partition: number;
  owner: string;
  next: string;
  expiresAt: number;
  etag: string;
}

export class PartitionManager {
  /** Leases held, with the time until which this host counts each as held. */
  private readonly held = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: PartitionManagerOptions) {
    this.now = o.now ?? Date.now;
  }

  /** True while this host holds the partition's lease by its own reckoning. */
  owns(partition: number): boolean {
    const until = this.held.get(partition);
    return until !== undefined && this.now() < until;
  }

  ownedPartitions(): number[] {
    return [...this.held.keys()].filter((p) => this.owns(p));
  }

  /** Creates the lease rows, takes what it can and resumes those partitions before resolving. */
  async start(): Promise<void> {
    const { table, partitionCount } = this.o;
    for (let p = 0; p < partitionCount; p++) {
      try {
        await table.createEntity({ partitionKey: LEASES_PK, rowKey: partitionName(p), CurrentOwner: '', NextOwner: '', ExpiresAt: 0 });
      } catch (err) {
        if (!isStatus(err, 409)) throw err;
      }
    }
    await this.runTick();
  }

  /** Stops renewing and gives every lease up so the other hosts take them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const rows = await this.readRows().catch(() => [] as LeaseRow[]);
    for (const row of rows) {
      if (row.owner !== this.o.workerId || !this.held.has(row.partition)) continue;
      await this.write(row, { CurrentOwner: '', NextOwner: row.next, ExpiresAt: 0 }).catch(() => undefined);
    }
    this.held.clear();
  }

  private runTick(): Promise<void> {
    this.ticking = this.tick()
      .catch((err: unknown) => this.o.logger.error(`Worker '${this.o.workerId}': partition leases: ${(err as Error).message}`))
      .finally(() => {
        this.ticking = undefined;
        if (!this.stopped) this.timer = setTimeout(() => void this.runTick(), this.o.renewIntervalMs);
      });
    return this.ticking;
  }

  private async readRows(): Promise<LeaseRow[]> {
    const rows: LeaseRow[] = [];
    const filter = `PartitionKey eq '${LEASES_PK}'`;
    for await (const e of this.o.table.listEntities({ queryOptions: { filter } })) {
      const partition = Number(String(e.rowKey).slice(1));
      if (!(partition < this.o.partitionCount)) continue;
      rows.push({
        partition,
        owner: String(e.CurrentOwner ?? ''),
        next: String(e.NextOwner ?? ''),
        expiresAt: Number(e.ExpiresAt ?? 0),
        etag: String(e.etag),
      });
    }
    return rows;
  }

  /** Writes a lease row if it is unchanged since read; resolves with the new ETag, undefined when someone else changed it. */
  private async write(row: LeaseRow, fields: { CurrentOwner: string; NextOwner: string; ExpiresAt: number }): Promise<string | undefined> {
    try {
      const res = await this.o.table.updateEntity({ partitionKey: LEASES_PK, rowKey: partitionName(row.partition), ...fields }, 'Replace', { etag: row.etag });
      return res.etag;
    } catch (err) {
      if (isStatus(err, 412) || isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  private release(partition: number, why: string): void {
    if (!this.held.delete(partition)) return;
    this.o.logger.info(`Worker '${this.o.workerId}' released partition ${partitionName(partition)}: ${why}`);
    this.o.onReleased(partition);
  }

  private async tick(): Promise<void> {
    const me = this.o.workerId;
    const { leaseIntervalMs } = this.o;
    // Leases this host's own reckoning says ran out are not run any longer, whatever storage says.
    for (const p of [...this.held.keys()]) if (!this.owns(p)) this.release(p, 'its lease ran out before it could be renewed');
    const rows = await this.readRows();
    const readAt = this.now();
    const acquired: { partition: number; from?: string; because?: string }[] = [];
    for (const row of rows) {
      const gone = row.owner !== '' && row.owner !== me && row.expiresAt > readAt && isDeadLocalWorker(row.owner);
      const expired = row.expiresAt <= readAt || gone;
      if (this.held.has(row.partition) && row.owner !== me) {
        this.release(row.partition, row.owner ? `'${row.owner}' took its lease` : 'its lease was cleared');
      }
      if (row.owner === me && this.held.has(row.partition)) {
        if (row.next !== '' && row.next !== me) {
          // Asked for: stop running it first, then let the asker have it (reserved for it one lease interval).
          this.release(row.partition, `handed over to '${row.next}'`);
          await this.write(row, { CurrentOwner: '', NextOwner: row.next, ExpiresAt: readAt + leaseIntervalMs });
          continue;
        }
        // A refused renewal (someone wrote the row since it was read: usually a host asking for it)
        // is looked at again on the next tick; the lease still runs until its own reckoning ends.
        const sent = this.now();
        if (await this.write(row, { CurrentOwner: me, NextOwner: '', ExpiresAt: sent + leaseIntervalMs })) this.held.set(row.partition, sent + leaseIntervalMs);
        continue;
      }
      const free = row.owner === '' && (row.next === '' || row.next === me || expired);
      const takeable = free || row.owner === me || (row.owner !== '' && expired);
      if (!takeable) continue;
      const sent = this.now();
      if (!(await this.write(row, { CurrentOwner: me, NextOwner: '', ExpiresAt: sent + leaseIntervalMs }))) continue;
      this.held.set(row.partition, sent + leaseIntervalMs);
      const from = row.owner !== '' && row.owner !== me ? row.owner : undefined;
      acquired.push({ partition: row.partition, from, because: gone ? 'whose process is gone' : 'whose lease expired' });
    }
    for (const { partition, from, because } of acquired) {
      const how = from ? `taken over from '${from}' ${because}` : 'free';
      this.o.logger.info(`Worker '${me}' acquired partition ${partitionName(partition)} (${how})`);
      try {
        await this.o.onAcquired(partition);
      } catch (err) {
        // Not resumed: not counted as held, so the next tick takes it (still in this host's name) again.
        this.held.delete(partition);
        this.o.onReleased(partition);
        this.o.logger.error(`Worker '${me}' could not resume partition ${partitionName(partition)}: ${(err as Error).message}`);
      }
    }
    if (acquired.length === 0) await this.balance(rows, readAt);
  }

  /** Asks the busiest host for a lease while this host holds fewer than its share. */
  private async balance(rows: LeaseRow[], readAt: number): Promise<void> {
    const me = this.o.workerId;
    const counts = new Map<string, number>([[me, 0]]);
    for (const row of rows) {
      const live = row.expiresAt > readAt && row.owner !== '';
      if (live) counts.set(row.owner, (counts.get(row.owner) ?? 0) + 1);
      if (row.next !== '') counts.set(row.next, (counts.get(row.next) ?? 0) + (live ? 0 : 1));
    }
    const asked = rows.filter((r) => r.next === me).length;
    const mine = this.held.size + asked;
    const share = Math.floor(this.o.partitionCount / counts.size);
    if (mine >= share) return;
    const [busiest, most] = [...counts.entries()].filter(([w]) => w !== me).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    if (most <= share) return;
    const row = rows.find((r) => r.owner === busiest && r.next === '' && r.expiresAt > readAt);
    if (!row) return;
    if (await this.write(row, { CurrentOwner: row.owner, NextOwner: me, ExpiresAt: row.expiresAt })) {
      this.o.logger.info(`Worker '${me}' asked '${busiest}' for partition ${partitionName(row.partition)}`);
    }
  }
}
