/**
 * Timer schedule status (`Last`, `Next`, `LastUpdated`), kept per timer so a restarted host sees the
 * occurrence it missed. The extension keeps it in the blob `azure-webjobs-hosts/timers/<hostId>/<timer>/status`;
 * here it is a row of the hosts table (`<hostId>` / `status:<timer>`). The past-due rule is the
 * extension's ScheduleMonitor.CheckPastDueAsync.
 * @see https://github.com/Azure/azure-webjobs-sdk-extensions/blob/dev/src/WebJobs.Extensions/Extensions/Timers/Scheduling/ScheduleMonitor.cs
 * @see https://github.com/Azure/azure-webjobs-sdk-extensions/blob/dev/src/WebJobs.Extensions.Timers.Storage/StorageScheduleMonitor.cs
 */
import type { TableClient } from '@azure/data-tables';
import { isStatus } from '../storage/lease';
import type { CronSchedule } from './ncrontab';

/** Times in ms; `NEVER` (0) stands for .NET's `default(DateTime)`, "not recorded". */
export interface ScheduleStatus {
  last: number;
  next: number;
  lastUpdated: number;
}

export const NEVER = 0;

export interface ScheduleStatusStore {
  get(timerName: string): Promise<ScheduleStatus | undefined>;
  /** Best effort, as in the extension: a failed write is logged, not thrown. */
  update(timerName: string, status: ScheduleStatus): Promise<void>;
}

export class TableScheduleStatusStore implements ScheduleStatusStore {
  constructor(
    private readonly table: TableClient,
    private readonly hostId: string,
    private readonly onError: (message: string) => void,
  ) {}

  async get(timerName: string): Promise<ScheduleStatus | undefined> {
    try {
      const row = await this.table.getEntity(this.hostId, `status:${timerName}`);
      return { last: Number(row.Last ?? NEVER), next: Number(row.Next ?? NEVER), lastUpdated: Number(row.LastUpdated ?? NEVER) };
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async update(timerName: string, status: ScheduleStatus): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey: this.hostId, rowKey: `status:${timerName}`, Last: status.last, Next: status.next, LastUpdated: status.lastUpdated },
        'Replace',
      );
    } catch (err) {
      this.onError(`Function '${timerName}' failed to update the timer trigger status: ${(err as Error).message}`);
    }
  }
}

/** Next occurrence, or `Infinity` for a schedule that never fires again. */
export function nextOccurrence(schedule: CronSchedule, afterMs: number): number {
  return schedule.next(afterMs) ?? Number.POSITIVE_INFINITY;
}

/**
 * Reads the recorded status and decides whether an occurrence was missed; writes the status first
 * when there was none or the schedule changed since it was recorded (then a past `Next` is moved to
 * the future instead of counting as missed).
 */
export async function checkPastDue(
  store: ScheduleStatusStore,
  timerName: string,
  schedule: CronSchedule,
  now: number,
): Promise<{ status: ScheduleStatus; pastDue: boolean }> {
  let status = await store.get(timerName);
  if (!status) {
    status = { last: NEVER, next: nextOccurrence(schedule, now), lastUpdated: now };
    await store.update(timerName, status);
  } else {
    const base = status.last !== NEVER ? status.last : status.lastUpdated !== NEVER ? status.lastUpdated : now;
    let expected = nextOccurrence(schedule, base);
    let lastUpdated = base;
    if (status.next !== expected) {
      if (now > expected) {
        expected = nextOccurrence(schedule, now);
        lastUpdated = now;
      }
      status = { last: NEVER, next: expected, lastUpdated };
      await store.update(timerName, status);
    }
  }
  return { status, pastDue: now > status.next };
}
