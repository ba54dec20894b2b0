/**
 * When to send a request again: on 429 and 503 only, as many times as `maxAttempts` allows, after
 * the `Retry-After` the answer named (delta-seconds or an HTTP-date) or, without one, an exponential
 * back-off with jitter. A `Retry-After` longer than `maxDelayMs` ends the retries: the caller gets
 * the error (with `retryAfterMs`) instead of a client that hangs.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3 (Retry-After)
 */

export interface RetryOptions {
  /** Requests in all, the first included (default 3; 1 turns retries off). */
  maxAttempts?: number;
  /** The back-off before the first retry when the answer has no `Retry-After` (default 250 ms); doubles per retry. */
  baseDelayMs?: number;
  /** The longest wait between two attempts (default 10 s). */
  maxDelayMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 10_000 };

export const RETRYABLE_STATUSES: readonly number[] = [429, 503];

export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return { ...DEFAULT_RETRY, maxAttempts: 1 };
  const policy = { ...DEFAULT_RETRY, ...options };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError('retry.maxAttempts must be a whole number ≥ 1');
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) throw new RangeError('retry delays must be ≥ 0');
  return policy;
}

/** Milliseconds a `Retry-After` value asks for; undefined when absent or unreadable. Past dates → 0. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-dates start with a day name (IMF-fixdate, RFC 850, asctime); Date.parse alone takes "1.5".
  if (!/^[A-Za-z]{3,9},? /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Equal jitter: half of the doubled delay is fixed, half random, so many clients spread out. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export interface RetryDecision {
  /** Wait this long, then send again; undefined: give up. */
  delayMs?: number;
  /** What `Retry-After` asked for, when the answer had one. */
  retryAfterMs?: number;
}

/** The decision after `attempts` requests, the last of which answered `status` with `retryAfter`. */
export function decideRetry(status: number, retryAfter: string | null, attempts: number, policy: RetryPolicy, clock: { now: () => number; random: () => number }): RetryDecision {
  const retryAfterMs = parseRetryAfter(retryAfter, clock.now());
  if (!RETRYABLE_STATUSES.includes(status) || attempts >= policy.maxAttempts) return { retryAfterMs };
  if (retryAfterMs !== undefined) return retryAfterMs <= policy.maxDelayMs ? { delayMs: retryAfterMs, retryAfterMs } : { retryAfterMs };
  return { delayMs: backoffDelayMs(attempts, policy, clock.random) };
}
