/**
 * The one "wait until the row reaches a state" loop (callback settling, token refresh, revocation).
 * Time comes from the runtime's clock, so a test's fake clock turns the waits into steps.
 */
import { timedOut, type RowWatch } from '../storage/connection-writes';
import type { StoredConnection } from '../storage/connections-repo';
import type { Runtime } from './runtime';

export interface WaitOptions {
  timeoutMs: number;
  /** Longest pause between reads: reads start fast (the change usually lands within tens of ms), then back off. */
  maxPollMs: number;
  /** Runs before every read with the row read last (none yet on the first turn), e.g. to raise again an event that may have been dropped. */
  beforeRead?: (last: StoredConnection | undefined) => Promise<void>;
  /** A row the caller read after starting `watch` (which it stops): the wait starts from it instead of reading again. */
  from?: { watch: RowWatch; stored: StoredConnection | undefined };
}

export interface WaitResult {
  reached: boolean;
  /** The last row read (undefined once it is gone). */
  stored: StoredConnection | undefined;
}

const FIRST_POLL_MS = 10;
/**
 * With news of this process's writes, the change usually arrives as a written row and reads are only
 * the fallback for a write made by another process (another host, another worker), so they start later.
 */
const WATCHED_FIRST_POLL_MS = 100;
const WATCHED_MAX_POLL_MS = 500;

export async function waitForConnection(
  runtime: Pick<Runtime, 'clock' | 'connections' | 'connectionWrites'>,
  ref: { clientId: string; connectionId: string },
  reached: (stored: StoredConnection | undefined) => boolean,
  options: WaitOptions,
): Promise<WaitResult> {
  const deadline = runtime.clock.now().getTime() + options.timeoutMs;
  // Watching starts before the first read, so a write landing between the two is not missed.
  const watch = options.from?.watch ?? runtime.connectionWrites?.watch(ref.clientId, ref.connectionId);
  const firstPollMs = watch ? WATCHED_FIRST_POLL_MS : FIRST_POLL_MS;
  const maxPollMs = watch ? Math.max(options.maxPollMs, WATCHED_MAX_POLL_MS) : options.maxPollMs;
  const sleep = (ms: number) => runtime.clock.sleep(ms);
  let stored = options.from?.stored;
  let written = options.from !== undefined;
  try {
    for (let delay = firstPollMs; ; delay = Math.min(Math.ceil(delay * 1.5), maxPollMs)) {
      if (!written) {
        await options.beforeRead?.(stored);
        stored = await runtime.connections.get(ref.clientId, ref.connectionId);
      }
      if (reached(stored)) return { reached: true, stored };
      if (runtime.clock.now().getTime() >= deadline) return { reached: false, stored };
      if (watch) {
        const next = await watch.next(delay, sleep);
        written = next !== timedOut;
        if (next !== timedOut) stored = next;
      } else await sleep(delay);
    }
  } finally {
    if (!options.from) watch?.stop();
  }
}
