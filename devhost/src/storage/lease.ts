/**
 * A lease in one table row (`Owner`, `ExpiresAt`), changed only with the ETag last read, so two hosts
 * racing for it cannot both win: the stand-in for the blob leases the Functions host takes for
 * singleton locks (`azure-webjobs-hosts/locks/…`) and the Durable Azure Storage backend for its
 * partitions. Expiry is written as an absolute time by the holder's clock and compared by the others'
 * clocks (hosts share one machine here); a blob lease would be timed by the storage service instead.
 * A holder counts its lease from the moment it *sent* the write, so it gives up before anyone else
 * can see it expired.
 * @see https://github.com/Azure/azure-webjobs-sdk/blob/dev/src/Microsoft.Azure.WebJobs.Host.Storage/Singleton/BlobLeaseDistributedLockManager.cs
 * @see https://learn.microsoft.com/rest/api/storageservices/update-entity2 (If-Match)
 */
import * as os from 'node:os';
import { RestError, type TableClient } from '@azure/data-tables';

export interface LeaseOptions {
  table: TableClient;
  partitionKey: string;
  rowKey: string;
  /** Who takes it (a worker id); written to the row and shown in logs. */
  owner: string;
  periodMs: number;
  now?: () => number;
}

export interface AcquireResult {
  acquired: boolean;
  /** The other owner whose expired lease was taken over (undefined when it was free or ours), and why it could be. */
  takenFrom?: string;
  takenBecause?: string;
  /** The current holder when not acquired. */
  heldBy?: string;
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof RestError ? err.statusCode === status : (err as { statusCode?: number })?.statusCode === status;
}

/**
 * A default worker id (`<hostname>-<pid>`) of a process on this machine that no longer runs: its
 * leases need not be waited out, so a host restarted after a crash resumes at once (devhost only).
 */
export function isDeadLocalWorker(owner: string): boolean {
  const m = /^(.+)-(\d+)$/.exec(owner);
  if (!m || m[1] !== os.hostname() || Number(m[2]) === process.pid) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class TableLease {
  private etag: string | undefined;
  private heldUntil = 0;
  private readonly now: () => number;

  constructor(private readonly o: LeaseOptions) {
    this.now = o.now ?? Date.now;
  }

  get owner(): string {
    return this.o.owner;
  }

  /** True while this host holds the lease by its own reckoning. */
  get held(): boolean {
    return this.etag !== undefined && this.now() < this.heldUntil;
  }

  /** Takes the lease when nobody holds it, its holder let it expire, or it is already ours. */
  async tryAcquire(): Promise<AcquireResult> {
    const { table, partitionKey, rowKey, owner, periodMs } = this.o;
    const sent = this.now();
    try {
      const res = await table.createEntity({ partitionKey, rowKey, Owner: owner, ExpiresAt: sent + periodMs });
      return this.took(res.etag, sent);
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
    }
    let row: Record<string, unknown> & { etag: string };
    try {
      row = await table.getEntity(partitionKey, rowKey);
    } catch (err) {
      if (isStatus(err, 404)) return { acquired: false }; // released by deletion meanwhile: next attempt creates it
      throw err;
    }
    const holder = String(row.Owner ?? '');
    const expiresAt = Number(row.ExpiresAt ?? 0);
    const readAt = this.now();
    if (holder !== owner && holder !== '' && expiresAt > readAt && !isDeadLocalWorker(holder)) return { acquired: false, heldBy: holder };
    try {
      const res = await table.updateEntity({ partitionKey, rowKey, Owner: owner, ExpiresAt: readAt + periodMs }, 'Replace', { etag: row.etag });
      const result = this.took(res.etag, readAt);
      if (holder === owner || holder === '') return result;
      return { ...result, takenFrom: holder, takenBecause: expiresAt > readAt ? 'whose process is gone' : 'whose lease expired' };
    } catch (err) {
      if (isStatus(err, 412) || isStatus(err, 404)) return { acquired: false };
      throw err;
    }
  }

  /** Extends a lease this host holds; false when it was lost (taken by another host or deleted). */
  async renew(): Promise<boolean> {
    if (this.etag === undefined) return false;
    const { table, partitionKey, rowKey, owner, periodMs } = this.o;
    const sent = this.now();
    try {
      const res = await table.updateEntity({ partitionKey, rowKey, Owner: owner, ExpiresAt: sent + periodMs }, 'Replace', { etag: this.etag });
      this.took(res.etag, sent);
      return true;
    } catch (err) {
      if (isStatus(err, 412) || isStatus(err, 404)) {
        this.etag = undefined;
        return false;
      }
      throw err;
    }
  }

  /** Gives the lease up so another host can take it at once (best effort: expiry frees it anyway). */
  async release(): Promise<void> {
    const etag = this.etag;
    this.etag = undefined;
    if (etag === undefined) return;
    const { table, partitionKey, rowKey } = this.o;
    try {
      await table.updateEntity({ partitionKey, rowKey, Owner: '', ExpiresAt: 0 }, 'Replace', { etag });
    } catch {
      /* lost or unreachable: it expires on its own */
    }
  }

  private took(etag: string | undefined, sentAt: number): AcquireResult {
    this.etag = etag;
    this.heldUntil = sentAt + this.o.periodMs;
    return { acquired: true };
  }
}

/**
 * Renews `lease` at half its period (as the Functions host's SingletonManager does) until `stop()`;
 * calls `onLost` once when a renewal is refused or the lease ran out while storage did not answer.
 */
export function keepRenewed(lease: TableLease, periodMs: number, onLost: (why: string) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    let why: string | undefined;
    let retrySoon = false;
    try {
      if (!(await lease.renew())) why = 'another host holds it now';
    } catch (err) {
      retrySoon = true;
      if (!lease.held) why = `storage did not answer before it expired (${(err as Error).message})`;
    }
    if (stopped) return;
    if (why !== undefined) {
      stopped = true;
      onLost(why);
      return;
    }
    timer = setTimeout(() => void tick(), retrySoon ? Math.min(periodMs / 8, 1000) : periodMs / 2);
  };
  timer = setTimeout(() => void tick(), periodMs / 2);
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
