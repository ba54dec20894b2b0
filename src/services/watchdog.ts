/**
 * The watchdog for eternal loops. On the Azure Storage backend, eternal orchestrations waiting on
 * timers are known to get stuck (azure-functions-durable-extension #3022, durabletask #1302, #543,
 * #1019), and an operator or a crash can leave a connection without its orchestration. Each sweep,
 * bounded and paged, looks for:
 *  - refreshable rows whose recorded due time passed more than a grace period ago: the running
 *    orchestration is nudged (a refresh event for the version the row holds) or, when none runs,
 *    the maintain phase is started again;
 *  - orchestrations that failed or were terminated while their row says `connected`: restarted;
 *    while it says `merged` and still keeps the credentials: the merge is finished;
 *  - rows waiting for a callback whose orchestration does not know that attempt (a reauthorize
 *    event lost at continueAsNew) or is gone: the event is raised again or the phase restarted,
 *    and an attempt past its deadline with nobody left to expire it is marked `expired`;
 *  - pending authorization rows (and tombstones) whose window ended long enough ago: deleted.
 */
import type { Connection } from '../domain/connection';
import { isRunning, raiseConnectionEvent, raiseOrStart, tryGetStatus } from '../durable/client';
import { authorizePhaseInput, devicePhaseInput, restartedMaintainPhase, type ConnectionRef } from '../durable/contract';
import { DEFAULT_DEVICE_POLL_INTERVAL_S } from '../oauth/oauth2/device';
import { Events } from '../durable/names';
import { RETENTION_AFTER_EXPIRY_MS } from '../storage/authorizations-repo';
import type { StoredConnection } from '../storage/connections-repo';
import { markOutcome } from './mark-outcome';
import { finishStrandedMerge } from './merge-account';
import type { Runtime } from './runtime';

export const WATCHDOG = {
  /** Rows read per page, and pages per kind per sweep: a sweep's work is bounded. */
  pageSize: 100,
  maxPages: 10,
  /**
   * How far past its due time a refresh may be before the loop counts as stuck: a quarter of the
   * refresh margin, so a restarted loop still refreshes before the token expires.
   */
  overdueGraceFraction: 0.25,
  /** Rows younger than this are left alone: their starter may still be starting the orchestration. */
  minimumAgeMs: 10_000,
} as const;

export interface SweepReport {
  overdueRows: number;
  nudged: number;
  restarted: number;
  stoppedInstances: number;
  awaitingRows: number;
  reraised: number;
  expired: number;
  /** `merged` rows whose stopped orchestration left the credentials on them, moved onto the holder. */
  mergesFinished: number;
  /** Pending authorization rows deleted because their window ended (RETENTION_AFTER_EXPIRY_MS ago). */
  authorizationsDeleted: number;
  failures: number;
  /** True when a kind had more pages than one sweep reads; the next sweep starts over. */
  truncated: boolean;
}

export async function sweep(runtime: Runtime): Promise<SweepReport> {
  const report: SweepReport = {
    overdueRows: 0,
    nudged: 0,
    restarted: 0,
    stoppedInstances: 0,
    awaitingRows: 0,
    reraised: 0,
    expired: 0,
    mergesFinished: 0,
    authorizationsDeleted: 0,
    failures: 0,
    truncated: false,
  };
  const now = runtime.clock.now();
  const overdueBefore = new Date(now.getTime() - runtime.settings.refreshMarginMs * WATCHDOG.overdueGraceFraction).toISOString();

  await eachPage(runtime, 'overdue', overdueBefore, report, async (stored) => {
    report.overdueRows += 1;
    await nudgeOrRestartRefresh(runtime, stored, report);
  });

  await restartStoppedInstances(runtime, report);

  await eachPage(runtime, 'awaiting_callback', overdueBefore, report, async (stored) => {
    report.awaitingRows += 1;
    await checkAwaiting(runtime, stored, report);
  });

  // Last, so attempts the steps above just marked expired are not deleted before they are settled.
  await deleteExpiredAuthorizations(runtime, now, report);
  return report;
}

async function deleteExpiredAuthorizations(runtime: Runtime, now: Date, report: SweepReport): Promise<void> {
  const expiredBefore = new Date(now.getTime() - RETENTION_AFTER_EXPIRY_MS).toISOString();
  for (let page = 0; page < WATCHDOG.maxPages; page++) {
    const result = await runtime.authorizations.deleteExpired(expiredBefore, WATCHDOG.pageSize).catch(() => {
      report.failures += 1;
      return { deleted: 0, more: false };
    });
    report.authorizationsDeleted += result.deleted;
    if (!result.more) return;
  }
  report.truncated = true;
}

async function eachPage(
  runtime: Runtime,
  kind: 'overdue' | 'awaiting_callback',
  overdueBefore: string,
  report: SweepReport,
  visit: (stored: StoredConnection) => Promise<void>,
): Promise<void> {
  let continuation: string | undefined;
  for (let page = 0; page < WATCHDOG.maxPages; page++) {
    const result = await runtime.connections.watchdogPage(kind, WATCHDOG.pageSize, overdueBefore, continuation);
    for (const stored of result.items) {
      if (tooYoung(runtime, stored.connection)) continue;
      // One connection's failure must not stop the sweep; it is counted and retried next time.
      await visit(stored).catch(() => {
        report.failures += 1;
      });
    }
    continuation = result.continuation;
    if (!continuation) return;
  }
  report.truncated = true;
}

/** Row statuses that still need their orchestration (a `merged` row until its credentials moved). */
const STOPPED_STATUSES_HANDLED: ReadonlySet<Connection['status']> = new Set(['connected', 'refreshing', 'awaiting_callback', 'awaiting_confirmation', 'merged']);

/** Failed or terminated connection orchestrations whose row still says the connection is alive. */
async function restartStoppedInstances(runtime: Runtime, report: SweepReport): Promise<void> {
  const stopped = await runtime.durable.getStatusBy({ runtimeStatus: ['Failed', 'Terminated'] });
  let handled = 0;
  for (const instance of stopped) {
    const ref = connectionRefOf(instance.input);
    if (!ref) continue;
    if (handled >= WATCHDOG.pageSize * WATCHDOG.maxPages) {
      report.truncated = true;
      return;
    }
    handled += 1;
    try {
      const stored = await runtime.connections.get(ref.clientId, ref.connectionId);
      // The row must name this instance: a legacy orchestration and a namespaced one can both carry
      // the same client and connection id in their input, only one of them is the row's.
      if (!stored || stored.connection.instanceId !== instance.instanceId || tooYoung(runtime, stored.connection)) continue;
      const status = stored.connection.status;
      if (!STOPPED_STATUSES_HANDLED.has(status)) continue;
      // A merged row whose credentials already moved is over, like a revoked one: not counted.
      if (status === 'merged') {
        if (await finishStrandedMerge(runtime, stored)) {
          report.stoppedInstances += 1;
          report.mergesFinished += 1;
        }
        continue;
      }
      report.stoppedInstances += 1;
      if (status === 'awaiting_confirmation') {
        await expireUnconfirmed(runtime, stored, report);
        continue;
      }
      if (status === 'awaiting_callback') {
        await checkAwaiting(runtime, stored, report);
        continue;
      }
      // A restarted maintain phase whose credentials cannot be refreshed ends at once ('gone').
      if (stored.connection.protocol !== 'oauth2' || stored.connection.expiresAt === null) continue;
      await nudgeOrRestartRefresh(runtime, stored, report);
    } catch {
      report.failures += 1;
    }
  }
}

/** A refresh event for the version the row holds to a running loop, or the maintain phase started again. */
async function nudgeOrRestartRefresh(runtime: Runtime, stored: StoredConnection, report: SweepReport): Promise<void> {
  const outcome = await raiseOrStart(
    runtime.durable,
    stored.connection.instanceId,
    Events.Refresh,
    { seenVersion: stored.connection.credentialsVersion },
    () => restartedMaintainPhase(stored.connection, stored.issuedAt ?? stored.connection.updatedAt, runtime.clock.now()),
  );
  if (outcome === 'raised') report.nudged += 1;
  else if (outcome === 'started') report.restarted += 1;
  else report.failures += 1;
}

async function checkAwaiting(runtime: Runtime, stored: StoredConnection, report: SweepReport): Promise<void> {
  const c = stored.connection;
  if (!c.authorizationId || !c.authorizationExpiresAt) return;
  const attempt = { authorizationId: c.authorizationId, deadline: c.authorizationExpiresAt };
  const status = await tryGetStatus(runtime.durable, c.instanceId);
  const running = isRunning(status?.runtimeStatus);
  if (Date.parse(attempt.deadline) <= runtime.clock.now().getTime()) {
    // A running orchestration expires the attempt itself at its deadline timer.
    if (running) return;
    await markOutcome(runtime, { ...refOf(c), authorizationId: attempt.authorizationId, status: 'expired' });
    report.expired += 1;
    return;
  }
  // The input counts too: an execution whose start is still on its way (Pending under a delivery
  // delay) has no custom status yet, and a re-raised event would reach it after its exchange.
  if (running && (namesAttempt(status?.customStatus, attempt.authorizationId) || namesAttempt(status?.input, attempt.authorizationId))) return;
  if (running) {
    await raiseConnectionEvent(runtime.durable, c.instanceId, Events.Reauthorize, attempt);
    report.reraised += 1;
    return;
  }
  // A device authorization has no callback to wait for: its restarted orchestration polls again, at
  // the interval the provider asked for at the start (a later slow_down is asked again if need be).
  const restartInput = () =>
    c.grant === 'device_code'
      ? devicePhaseInput(c, { ...attempt, intervalSeconds: c.devicePollIntervalSeconds ?? DEFAULT_DEVICE_POLL_INTERVAL_S })
      : authorizePhaseInput(c, attempt);
  const outcome = await raiseOrStart(runtime.durable, c.instanceId, Events.Reauthorize, attempt, restartInput);
  if (outcome === 'started') report.restarted += 1;
  else if (outcome === 'raised') report.reraised += 1;
  else report.failures += 1;
}

/**
 * A session-bound connection whose orchestration stopped in its confirm phase: no timer erases the
 * held credentials at the confirmation deadline, so the sweep does, once the window (counted from
 * the row's last change, which is no earlier than the exchange) has passed. A completion before
 * then still makes the row `connected`, and the sweep then restarts its refresh loop.
 */
async function expireUnconfirmed(runtime: Runtime, stored: StoredConnection, report: SweepReport): Promise<void> {
  const c = stored.connection;
  const confirmBy = Date.parse(c.updatedAt) + runtime.settings.authorizationTimeoutSeconds * 1000;
  if (!c.authorizationId || confirmBy > runtime.clock.now().getTime()) return;
  if ((await markOutcome(runtime, { ...refOf(c), authorizationId: c.authorizationId, status: 'expired' })) === 'expired') report.expired += 1;
}

function namesAttempt(value: unknown, authorizationId: string): boolean {
  return typeof value === 'object' && value !== null && (value as { authorizationId?: unknown }).authorizationId === authorizationId;
}

function tooYoung(runtime: Runtime, connection: Connection): boolean {
  return runtime.clock.now().getTime() - Date.parse(connection.updatedAt) < WATCHDOG.minimumAgeMs;
}

function refOf(connection: Connection): ConnectionRef {
  return { connectionId: connection.connectionId, clientId: connection.clientId, provider: connection.provider, protocol: connection.protocol };
}

function connectionRefOf(input: unknown): ConnectionRef | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const candidate = input as Partial<ConnectionRef>;
  if (typeof candidate.connectionId !== 'string' || typeof candidate.clientId !== 'string') return undefined;
  return candidate as ConnectionRef;
}
