/**
 * In-process news of connection-row writes. A wait for a row to change (the callback waiting for the
 * exchange activity, a token read waiting for a refresh) usually waits for a write made by this same
 * process, so it is handed the written row instead of polling storage for it. Writes made by another
 * process are not seen here: waiters still read the row now and then (src/services/wait-for-connection.ts).
 */
import type { StoredConnection } from './connections-repo';

export type WrittenRow = StoredConnection | undefined;

export interface RowWatch {
  /** The next row written after the last call (undefined once deleted), or `timedOut` after `ms`. */
  next(ms: number, sleep: (ms: number) => Promise<void>): Promise<WrittenRow | typeof timedOut>;
  stop(): void;
}

export interface ConnectionWritesPort {
  watch(clientId: string, connectionId: string): RowWatch;
}

export const timedOut = Symbol('timedOut');

export class ConnectionWrites implements ConnectionWritesPort {
  private readonly watchers = new Map<string, Set<(row: WrittenRow) => void>>();

  published(clientId: string, connectionId: string, row: WrittenRow): void {
    for (const notify of this.watchers.get(key(clientId, connectionId)) ?? []) notify(row);
  }

  watch(clientId: string, connectionId: string): RowWatch {
    const k = key(clientId, connectionId);
    // Writes landing between two `next` calls are kept (the last one counts), so none is missed.
    let latest: { row: WrittenRow } | undefined;
    let wake: (() => void) | undefined;
    const notify = (row: WrittenRow) => {
      latest = { row };
      wake?.();
    };
    let set = this.watchers.get(k);
    if (!set) this.watchers.set(k, (set = new Set()));
    set.add(notify);
    return {
      next: async (ms, sleep) => {
        if (!latest) {
          const written = new Promise<void>((resolve) => (wake = resolve));
          await Promise.race([written, sleep(ms)]);
          wake = undefined;
        }
        const taken = latest;
        latest = undefined;
        return taken ? taken.row : timedOut;
      },
      stop: () => {
        set.delete(notify);
        if (set.size === 0 && this.watchers.get(k) === set) this.watchers.delete(k);
      },
    };
  }
}

const key = (clientId: string, connectionId: string) => `${clientId}\n${connectionId}`;
