/**
 * Fault switches for tests, all off unless set in the host's environment (read at start-up):
 *
 * - `DEVHOST_FAULT_ACTIVITY_TWICE=1`: every activity runs a second time after its first run
 *   settles, as a redelivered work item does on Azure (at-least-once). Both results are delivered;
 *   the first completes the task and the second is dropped, as DTFx drops a duplicate completion.
 * - `DEVHOST_FAULT_DELIVERY_DELAY_MS=<ms>`: every message reaches an instance's mailbox `ms` late
 *   (start, events, terminate/suspend/resume, activity results, timer firings, child outcomes), as
 *   the Azure Storage backend's queue polling delays them (back-off up to `maxQueuePollingInterval`,
 *   30 s by default). Durable messages are still written and acknowledged at once.
 * - `DEVHOST_FAULT_FAIL_WRITES=<n>`: the next `n` durable-store writes (instance create/write,
 *   episode commit, inbox add/delete, purge, history clean-up) fail with an error.
 */
import type { HostLogger } from './log';
import type { DurableStore } from './storage/durable-store';

export interface FaultSwitches {
  activityTwice: boolean;
  deliveryDelayMs: number;
  failWrites: number;
}

export const NO_FAULTS: FaultSwitches = { activityTwice: false, deliveryDelayMs: 0, failWrites: 0 };

function count(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name];
  if (text === undefined || text === '') return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} "${text}" must be a whole number`);
  return n;
}

export function readFaultSwitches(env: NodeJS.ProcessEnv): FaultSwitches {
  const twice = env.DEVHOST_FAULT_ACTIVITY_TWICE;
  if (twice !== undefined && twice !== '' && twice !== '0' && twice !== '1') throw new Error(`DEVHOST_FAULT_ACTIVITY_TWICE "${twice}" must be 0 or 1`);
  return {
    activityTwice: twice === '1',
    deliveryDelayMs: count(env, 'DEVHOST_FAULT_DELIVERY_DELAY_MS'),
    failWrites: count(env, 'DEVHOST_FAULT_FAIL_WRITES'),
  };
}

/** Names of the switches that are on, for the start-up log. */
export function describeFaults(f: FaultSwitches): string[] {
  return [
    ...(f.activityTwice ? ['every activity runs twice'] : []),
    ...(f.deliveryDelayMs > 0 ? [`messages are delivered ${f.deliveryDelayMs} ms late`] : []),
    ...(f.failWrites > 0 ? [`the next ${f.failWrites} storage writes fail`] : []),
  ];
}

const WRITES: ReadonlySet<PropertyKey> = new Set(['createInstance', 'writeInstance', 'commit', 'addMessage', 'deleteMessage', 'purge', 'deleteOldHistory']);

/** The store, with its next `n` writes failing. */
export function failingWrites(store: DurableStore, n: number, logger: HostLogger): DurableStore {
  let failed = 0;
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!WRITES.has(prop) || failed >= n) return method.bind(target);
      return (...args: unknown[]) => {
        if (failed >= n) return method.apply(target, args);
        failed += 1;
        logger.info(`Fault switch: storage write ${String(prop)} fails (${failed} of ${n})`);
        return Promise.reject(new Error(`devhost fault switch: storage write ${failed} of ${n} failed`));
      };
    },
  });
}
