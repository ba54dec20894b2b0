/**
 * Counting failed refreshes. Pure: `now` is passed in. Consecutive failures are counted from the
 * first one; once failures have lasted `spanMs` (default 4 days, after Nango's
 * MAX_CONSECUTIVE_DAYS_FAILED_REFRESH), the connection needs the user again (`reauth_required`,
 * reason `refresh_exhausted`). A success clears the count and says whether it ended a failure run
 * (the `connection.recovered` webhook).
 */
import type { RefreshAttempts } from './connection';

export const DEFAULT_REFRESH_FAILURE_SPAN_MS = 4 * 24 * 3600 * 1000;

export interface FailureVerdict {
  attempts: RefreshAttempts;
  /** Failures have lasted the whole span: stop retrying and ask for re-authorization. */
  exhausted: boolean;
}

export function afterRefreshFailure(previous: RefreshAttempts | undefined, now: Date, spanMs: number = DEFAULT_REFRESH_FAILURE_SPAN_MS): FailureVerdict {
  const at = now.toISOString();
  const attempts: RefreshAttempts = previous
    ? { failures: previous.failures + 1, firstFailureAt: previous.firstFailureAt, lastFailureAt: at }
    : { failures: 1, firstFailureAt: at, lastFailureAt: at };
  return { attempts, exhausted: now.getTime() - Date.parse(attempts.firstFailureAt) >= spanMs };
}

/** True when this success ends a run of failures (worth telling the client about). */
export function isRecovery(previous: RefreshAttempts | undefined): boolean {
  return previous !== undefined && previous.failures > 0;
}
