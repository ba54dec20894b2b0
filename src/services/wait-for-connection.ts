/**
 * The one "wait until the row reaches a state" loop (callback settling, token refresh, revocation).
 * Time comes from the runtime's clock, so a test's fake clock turns the waits into steps.
 */
import type { StoredConnection } from '../storage/connections-repo';
import type { Runtime } from './runtime';

export interface WaitOptions {
  timeoutMs: number;
  /** Longest pause between reads: reads start fast (the change usually lands within tens of ms), then back off. */
  maxPollMs: number;
  /** Runs before every read with the row read last (none yet on the first turn), e.g. to raise again an event that may have been dropped. */
  beforeRead?: (last: StoredConnection | undefined) => Promise<void>;
}

export interface WaitResult {
  reached: boolean;
  /** The last row read (undefined once it is gone). */
  stored: StoredConnection | undefined;
}

const FIRST_POLL_MS = 10;

export async function waitForConnection(
  runtime: Pick<Runtime, 'clock' | 'connections'>,
  ref: { clientId: string; connectionId: string },
  reached: (stored: StoredConnection | undefined) => boolean,
  options: WaitOptions,
): Promise<WaitResult> {
  const deadline = runtime.clock.now().getTime() + options.timeoutMs;
  let stored: StoredConnection | undefined;
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(Math.ceil(delay * 1.5), options.maxPollMs)) {
    await options.beforeRead?.(stored);
    stored = await runtime.connections.get(ref.clientId, ref.connectionId);
    if (reached(stored)) return { reached: true, stored };
    if (runtime.clock.now().getTime() >= deadline) return { reached: false, stored };
    await runtime.clock.sleep(delay);
  }
}
