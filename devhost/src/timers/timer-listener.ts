/**
 * One timer trigger's schedule, as the extension's TimerListener runs it: on start a missed occurrence
 * (schedule monitor) or `runOnStartup` runs at once, then every occurrence in turn; one invocation at a
 * time; after each, `Next` is computed from the invocation time (moved up to the planned occurrence
 * when the timer fired early) and recorded. A failing function does not stop the schedule.
 * @see https://github.com/Azure/azure-webjobs-sdk-extensions/blob/dev/src/WebJobs.Extensions/Extensions/Timers/Listener/TimerListener.cs
 */
import type { HostLogger } from '../log';
import type { CronSchedule } from './ncrontab';
import { checkPastDue, nextOccurrence, NEVER, type ScheduleStatus, type ScheduleStatusStore } from './schedule-monitor';

/** Node's setTimeout holds at most 2^31-1 ms; longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** What the trigger passes to the function (TimerInfo as the host serialises it; the model camel-cases the keys). */
export interface TimerInfoPayload {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: { Last: string; Next: string; LastUpdated: string } | null;
  IsPastDue: boolean;
}

/** A local DateTime as Json.NET writes it in a UTC host: `2026-12-06T20:40:00+00:00`, fractions only when present. */
export function dotnetDateTime(ms: number): string {
  if (ms === NEVER) return '0001-01-01T00:00:00+00:00';
  const iso = new Date(ms).toISOString(); // 2026-12-06T20:40:00.000Z
  const fraction = iso.slice(19, 23).replace(/\.?0+$/, '');
  return `${iso.slice(0, 19)}${fraction}+00:00`;
}

export function timerInfo(status: ScheduleStatus | undefined, isPastDue: boolean): TimerInfoPayload {
  return {
    // CronSchedule.AdjustForDST is always true (the property is obsolete; DST is handled by the schedule).
    Schedule: { AdjustForDST: true },
    ScheduleStatus: status
      ? { Last: dotnetDateTime(status.last), Next: dotnetDateTime(status.next), LastUpdated: dotnetDateTime(status.lastUpdated) }
      : null,
    IsPastDue: isPastDue,
  };
}

export interface TimerListenerOptions {
  /** Function name (logs) and the monitor's key for it. */
  functionName: string;
  timerName: string;
  schedule: CronSchedule;
  runOnStartup: boolean;
  /** Undefined when monitoring is off (`useMonitor: false`, sub-minute schedules, or no storage). */
  monitor?: ScheduleStatusStore;
  invoke(info: TimerInfoPayload): Promise<void>;
  logger: HostLogger;
  now?: () => number;
}

type Reason = 'schedule' | 'pastDue' | 'runOnStartup';

export class TimerListener {
  private status!: ScheduleStatus;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: TimerListenerOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    const { schedule, monitor, functionName, timerName } = this.o;
    const now = this.now();
    let pastDue = false;
    if (monitor) {
      const checked = await checkPastDue(monitor, timerName, schedule, now);
      this.status = checked.status;
      pastDue = checked.pastDue;
    } else {
      this.status = { last: NEVER, next: nextOccurrence(schedule, now), lastUpdated: NEVER };
    }
    const upcoming: string[] = [];
    for (let t = now, i = 0; i < 5; i++) {
      t = nextOccurrence(schedule, t);
      if (!Number.isFinite(t)) break;
      upcoming.push(new Date(t).toISOString());
    }
    this.o.logger.info(`Timer '${functionName}' (${schedule.expression}, UTC) next occurrences: ${upcoming.join(', ') || 'none'}`);
    if (pastDue) this.arm(0, 'pastDue');
    else if (this.o.runOnStartup) this.arm(0, 'runOnStartup');
    else this.armNext();
  }

  /** Stops scheduling and waits for an invocation in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private armNext(): void {
    this.arm(this.status.next - this.now(), 'schedule');
  }

  private arm(delayMs: number, reason: Reason): void {
    if (this.stopped || !Number.isFinite(delayMs)) return;
    const wait = Math.max(0, delayMs);
    this.timer = setTimeout(() => {
      if (wait > MAX_TIMEOUT_MS) return this.arm(delayMs - MAX_TIMEOUT_MS, reason);
      this.running = this.fire(reason).finally(() => {
        this.running = undefined;
        this.armNext();
      });
    }, Math.min(wait, MAX_TIMEOUT_MS));
  }

  private async fire(reason: Reason): Promise<void> {
    if (this.stopped) return;
    const { functionName, monitor, schedule } = this.o;
    const invokedAt = this.now();
    if (reason === 'pastDue') this.o.logger.info(`Timer '${functionName}' is past due (missed ${new Date(this.status.next).toISOString()})`);
    if (reason === 'runOnStartup') this.o.logger.info(`Timer '${functionName}' runs on startup`);
    try {
      await this.o.invoke(timerInfo(monitor ? this.status : undefined, reason === 'pastDue'));
    } catch {
      // Already logged by the invoker; the schedule goes on.
    }
    // Fired a little early (timer granularity): count from the planned occurrence, or the same
    // occurrence would be due again at once.
    const base = reason === 'schedule' && this.status.next > invokedAt ? this.status.next : invokedAt;
    this.status = { last: base, next: nextOccurrence(schedule, base), lastUpdated: base };
    if (monitor) await monitor.update(this.o.timerName, this.status);
  }
}
