/**
 * GET /api/health's check: storage answered a round trip lately. The route is anonymous, so anyone
 * may send as many checks as they like: one round trip serves every check that arrives while it
 * runs, and a success serves the checks of the next HEALTH_FRESH_MS without another. A flood of
 * checks then costs storage at most one request per interval per process. A failure is not kept:
 * the next check tries again, so the broker reports healthy as soon as storage is back.
 */
import type { Clock } from './runtime';

/** Long enough to absorb a flood, far shorter than any availability test's interval (minutes). */
export const HEALTH_FRESH_MS = 1_000;

export class StorageHealth {
  private running: Promise<void> | undefined;
  private answeredAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly roundTrip: () => Promise<void>,
    private readonly freshMs = HEALTH_FRESH_MS,
  ) {}

  /** Resolves when storage answered within the interval; rejects with the round trip's error. */
  check(): Promise<void> {
    if (this.clock.now().getTime() - this.answeredAtMs < this.freshMs) return Promise.resolve();
    this.running ??= this.roundTrip()
      .then(() => {
        this.answeredAtMs = this.clock.now().getTime();
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }
}
