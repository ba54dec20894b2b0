/**
 * Which rate-limit refusals get a log line: the first per client and limit in each window, carrying
 * how many were refused since the previous line. A client flooding at many times its limits would
 * otherwise cost the instance one log line per refused request, which is most of what a refusal
 * costs after the platform's own pipeline.
 */
import type { Clock } from '../services/runtime';
import { setNewest } from '../domain/bounded-map';

export const REFUSAL_LOG_WINDOW_MS = 10_000;
/** Most (client, limit) pairs remembered; the oldest is forgotten (its next refusal is then logged). */
const MAX_TRACKED = 10_000;

interface Window {
  startedMs: number;
  /** Refusals counted in this window but not logged yet. */
  unlogged: number;
}

export class RefusalLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly windowMs = REFUSAL_LOG_WINDOW_MS,
    private readonly maxTracked = MAX_TRACKED,
  ) {}

  /**
   * Counts one refusal. Answers the number of refusals the line to log stands for (this one and the
   * ones counted silently before it), or undefined when this one is only counted.
   */
  count(clientId: string, limit: string): number | undefined {
    const key = `${clientId}\u0000${limit}`;
    const nowMs = this.clock.now().getTime();
    const window = this.windows.get(key);
    if (window && nowMs - window.startedMs < this.windowMs) {
      window.unlogged += 1;
      return undefined;
    }
    setNewest(this.windows, key, { startedMs: nowMs, unlogged: 0 }, this.maxTracked);
    return 1 + (window?.unlogged ?? 0);
  }
}
