/**
 * Runs a listener on one host at a time, as the Functions host does for every timer trigger
 * (`[Singleton(Mode = SingletonMode.Listener)]` on TimerListener): the host that takes the lock starts
 * the listener and renews the lock at half its period; the others try again every recovery interval,
 * so when the holder dies its lock expires and another host starts the listener (which then sees the
 * missed occurrence as past due). A host that loses its lock stops its listener.
 * @see https://github.com/Azure/azure-webjobs-sdk/blob/dev/src/Microsoft.Azure.WebJobs.Host/Singleton/SingletonListener.cs
 * @see https://github.com/Azure/azure-webjobs-sdk/blob/dev/src/Microsoft.Azure.WebJobs.Host/Singleton/SingletonManager.cs
 */
import type { HostLogger } from '../log';
import { keepRenewed, type TableLease } from '../storage/lease';

export interface Listener {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface SingletonListenerOptions {
  lockId: string;
  lease: TableLease;
  periodMs: number;
  recoveryPollingMs: number;
  /** A fresh inner listener for each time the lock is taken. */
  createListener(): Listener;
  logger: HostLogger;
}

export class SingletonListener implements Listener {
  private inner: Listener | undefined;
  private renewal: { stop(): void } | undefined;
  private poll: NodeJS.Timeout | undefined;
  private stopped = false;
  private attempt: Promise<void> | undefined;

  constructor(private readonly o: SingletonListenerOptions) {}

  async start(): Promise<void> {
    await this.tryAcquire();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearTimeout(this.poll);
    await this.attempt;
    this.renewal?.stop();
    // The listener's work completes before the lock is released.
    await this.inner?.stop();
    this.inner = undefined;
    await this.o.lease.release();
  }

  private tryAcquire(): Promise<void> {
    this.attempt = (async () => {
      const { lease, lockId, logger } = this.o;
      let acquired = false;
      try {
        const result = await lease.tryAcquire();
        acquired = result.acquired;
        if (acquired) {
          const from = result.takenFrom ? `, taken over from '${result.takenFrom}' ${result.takenBecause}` : '';
          logger.info(`Worker '${lease.owner}' acquired the singleton lock '${lockId}'${from}`);
        }
      } catch (err) {
        logger.error(`Singleton lock '${lockId}': ${(err as Error).message}`);
      }
      if (this.stopped) {
        if (acquired) await lease.release();
        return;
      }
      if (!acquired) {
        this.poll = setTimeout(() => void this.tryAcquire(), this.o.recoveryPollingMs);
        return;
      }
      this.renewal = keepRenewed(lease, this.o.periodMs, (why) => void this.lost(why));
      this.inner = this.o.createListener();
      try {
        await this.inner.start();
      } catch (err) {
        logger.error(`Listener under the singleton lock '${lockId}' did not start: ${(err as Error).message}`);
        this.renewal.stop();
        await this.inner.stop();
        this.inner = undefined;
        await lease.release();
        if (!this.stopped) this.poll = setTimeout(() => void this.tryAcquire(), this.o.recoveryPollingMs);
      }
    })();
    return this.attempt;
  }

  private async lost(why: string): Promise<void> {
    this.o.logger.error(`Worker '${this.o.lease.owner}' lost the singleton lock '${this.o.lockId}': ${why}; its listener stops`);
    const inner = this.inner;
    this.inner = undefined;
    await inner?.stop();
    if (!this.stopped) this.poll = setTimeout(() => void this.tryAcquire(), this.o.recoveryPollingMs);
  }
}
