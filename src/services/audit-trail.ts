/**
 * The per-connection audit trail that outlives `continueAsNew` (durable history is cut at every
 * generation). The services that do a thing record it here, through the Runtime's `audit` port:
 *
 * - Event ids are deterministic (time of the persisted change + type + what it was about), so an
 *   activity that runs twice records one event; the first writer wins.
 * - The hot paths (token reads, proxied calls) only count in memory, per connection, client and
 *   hour; each process writes its running totals at most every AUDIT_COUNT_FLUSH_MS, as one row per
 *   hour and process that it replaces (so several hosts never overwrite each other's counts).
 * - Details are codes, versions, counts and times, passed through the one redaction helper anyway.
 * - Recording never fails the operation that records: a storage failure is reported, not thrown.
 */
import { redact } from '../logging/redact';
import type { AuditRepository, AuditRow } from '../storage/audit-repo';
import type { Clock } from './runtime';

export type AuditEventType =
  | 'created'
  | 'authorized'
  | 'denied'
  | 'exchanged'
  | 'refreshed'
  | 'refresh_failed'
  | 'token_reads'
  | 'proxy_calls'
  | 'reauthorized'
  | 'revoked'
  | 'expired'
  | 'failed';

export type CountedType = Extract<AuditEventType, 'token_reads' | 'proxy_calls'>;

type DetailValue = string | number | boolean | null | string[] | Record<string, number>;

export interface AuditEventInput {
  connectionId: string;
  clientId: string;
  type: AuditEventType;
  /** The time of the change as persisted (a re-run reads the same time back). */
  at: string;
  /** What the event is about when one type can happen more than once (attempt id, credentials version). */
  about?: string;
  details?: Record<string, DetailValue | undefined>;
}

export type AuditEvent = AuditRow;
export type AuditStore = { [K in keyof AuditRepository]: AuditRepository[K] };

/** How long a process keeps hot-path counts before writing them. */
export const AUDIT_COUNT_FLUSH_MS = 5_000;
const HOUR_MS = 3_600_000;
/** Pruning scans the whole table, so a process does it at most this often (the watchdog runs every minute). */
export const AUDIT_PRUNE_EVERY_MS = HOUR_MS;
const DAY_MS = 86_400_000;

export interface AuditTrailOptions {
  retentionDays: number;
  /** Distinguishes this process's hourly count rows from other hosts'. */
  processId: string;
  onError?: (error: unknown) => void;
  flushAfterMs?: number;
}

interface Counter {
  connectionId: string;
  clientId: string;
  type: CountedType;
  hour: string;
  /** The first count's time: the row's place in the timeline, fixed for the process and hour. */
  firstAt: string;
  total: number;
  byLabel: Record<string, number>;
  dirty: boolean;
}

/** Table Storage refuses `/ \ # ?` and control characters in keys. */
function keyPart(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[/\\#?\u0000-\u001f\u007f~]/g, '_');
}

export function auditEventId(event: Pick<AuditEventInput, 'at' | 'type' | 'about'>): string {
  return [event.at, event.type, ...(event.about ? [keyPart(event.about)] : [])].join('~');
}

export class AuditTrail {
  private readonly counters = new Map<string, Counter>();
  private flushTimer: NodeJS.Timeout | undefined;
  private lastPruneMs = -Infinity;

  constructor(
    private readonly store: () => Promise<AuditStore>,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly options: AuditTrailOptions,
  ) {}

  async record(event: AuditEventInput): Promise<void> {
    try {
      await (await this.store()).insertOnce(auditRow(event));
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Events of one connection that happen together: one storage request instead of one each. */
  async recordAll(events: AuditEventInput[]): Promise<void> {
    try {
      await (await this.store()).insertAllOnce(events.map(auditRow));
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  /** Hot path: no I/O here; the totals are written later (see AUDIT_COUNT_FLUSH_MS). */
  count(type: CountedType, connectionId: string, clientId: string, label?: string): void {
    const nowMs = this.clock.now().getTime();
    const hourMs = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
    const key = `${type}\u0000${connectionId}\u0000${clientId}\u0000${hourMs}`;
    let counter = this.counters.get(key);
    if (!counter) {
      const hour = new Date(hourMs).toISOString();
      counter = { connectionId, clientId, type, hour, firstAt: new Date(nowMs).toISOString(), total: 0, byLabel: {}, dirty: false };
      this.counters.set(key, counter);
    }
    counter.total += 1;
    if (label) counter.byLabel[label] = (counter.byLabel[label] ?? 0) + 1;
    counter.dirty = true;
    this.flushTimer ??= setTimeout(() => void this.flush(), this.options.flushAfterMs ?? AUDIT_COUNT_FLUSH_MS).unref();
  }

  /** Writes the counts that changed since the last flush; counts of past hours are then let go. */
  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const currentHour = Math.floor(this.clock.now().getTime() / HOUR_MS) * HOUR_MS;
    for (const [key, counter] of this.counters) {
      if (counter.dirty) {
        counter.dirty = false;
        try {
          await (await this.store()).upsert(this.countRow(counter));
        } catch (error) {
          counter.dirty = true;
          this.options.onError?.(error);
          continue;
        }
      }
      if (Date.parse(counter.hour) < currentHour) this.counters.delete(key);
    }
  }

  /** One page of a connection's events in time order, within the retention period. */
  async list(clientId: string, connectionId: string, page: { top: number; continuation?: string }): Promise<{ items: AuditEvent[]; continuation?: string }> {
    await this.flush();
    return (await this.store()).list(clientId, connectionId, { ...page, notBefore: this.retentionCutoff() });
  }

  /** Deletes events older than the retention period (at most every AUDIT_PRUNE_EVERY_MS); answers how many. */
  async prune(): Promise<number> {
    const nowMs = this.clock.now().getTime();
    if (nowMs - this.lastPruneMs < AUDIT_PRUNE_EVERY_MS) return 0;
    this.lastPruneMs = nowMs;
    return (await this.store()).prune(this.retentionCutoff());
  }

  private retentionCutoff(): string {
    return new Date(this.clock.now().getTime() - this.options.retentionDays * DAY_MS).toISOString();
  }

  private countRow(counter: Counter): AuditRow {
    return {
      connectionId: counter.connectionId,
      eventId: auditEventId({ at: counter.firstAt, type: counter.type, about: `${counter.clientId}~${this.options.processId}` }),
      type: counter.type,
      at: counter.firstAt,
      clientId: counter.clientId,
      details: { count: counter.total, ...(Object.keys(counter.byLabel).length > 0 ? { byStatus: { ...counter.byLabel } } : {}), hourStart: counter.hour },
    };
  }
}

function auditRow(event: AuditEventInput): AuditRow {
  return {
    connectionId: event.connectionId,
    eventId: auditEventId(event),
    type: event.type,
    at: event.at,
    clientId: event.clientId,
    details: cleanDetails(event.details),
  };
}

function cleanDetails(details: AuditEventInput['details']): Record<string, unknown> {
  const defined = Object.fromEntries(Object.entries(details ?? {}).filter(([, value]) => value !== undefined));
  return redact(defined) as Record<string, unknown>;
}
