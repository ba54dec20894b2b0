/**
 * When to refresh an OAuth 2.0 access token. Pure: `now` is always passed in, so the orchestration
 * (deterministic time) and the token endpoint (wall clock) share one rule.
 *
 * Contract: a token is due when its remaining lifetime ≤ min(margin, half its lifetime), minus up to
 * 10 % jitter (jitter spreads refreshes of tokens issued together). The margin is
 * BROKER_REFRESH_MARGIN_SECONDS (default 60 s); it must cover the backend's message delivery delay.
 */
import type { ConnectionGrant } from './connection';

export const REFRESH_MARGIN_MAX_MS = 60_000;
export const REFRESH_JITTER_MAX_FRACTION = 0.1;
/** Lifetime assumed when a provider returns a refresh token but no `expires_in` (documented fallback). */
export const DEFAULT_EXPIRES_IN_FALLBACK_S = 3600;
/** The token endpoint never hands out a token that expires within this window. */
export const MIN_REMAINING_LIFETIME_MS = 1_000;

export function refreshMarginMs(issuedAtMs: number, expiresAtMs: number, marginMaxMs = REFRESH_MARGIN_MAX_MS): number {
  const lifetimeMs = Math.max(0, expiresAtMs - issuedAtMs);
  return Math.min(marginMaxMs, lifetimeMs / 2);
}

/** The instant the token becomes due. `jitterFraction` ∈ [0, 1) scales the 10 % jitter. */
export function refreshDueAtMs(issuedAtMs: number, expiresAtMs: number, jitterFraction = 0, marginMaxMs = REFRESH_MARGIN_MAX_MS): number {
  const margin = refreshMarginMs(issuedAtMs, expiresAtMs, marginMaxMs);
  const jitter = margin * REFRESH_JITTER_MAX_FRACTION * clamp01(jitterFraction);
  return expiresAtMs - (margin - jitter);
}

export type RefreshDecision =
  | { should: false; reason: 'fresh' | 'not_expiring' }
  | { should: true; reason: 'due' | 'expired' };

/** Decision for a reader holding credentials now (no jitter: readers refresh at the full margin). */
export function shouldRefresh(
  issuedAtMs: number,
  expiresAtMs: number | null,
  nowMs: number,
  marginMaxMs = REFRESH_MARGIN_MAX_MS,
): RefreshDecision {
  if (expiresAtMs === null) return { should: false, reason: 'not_expiring' };
  if (expiresAtMs - nowMs <= MIN_REMAINING_LIFETIME_MS) return { should: true, reason: 'expired' };
  if (nowMs >= refreshDueAtMs(issuedAtMs, expiresAtMs, 0, marginMaxMs)) return { should: true, reason: 'due' };
  return { should: false, reason: 'fresh' };
}

/**
 * The unjittered due time recorded on the row for the watchdog (ISO); undefined when there is
 * nothing to refresh (no refresh token, or a token that does not expire).
 */
export function watchdogDueAt(issuedAt: string, expiresAt: string | null, refreshable: boolean, marginMaxMs = REFRESH_MARGIN_MAX_MS): string | undefined {
  if (!refreshable || expiresAt === null) return undefined;
  return new Date(refreshDueAtMs(Date.parse(issuedAt), Date.parse(expiresAt), 0, marginMaxMs)).toISOString();
}

/** Backoff after the n-th consecutive transient refresh failure (1-based): 5 s doubling, capped at 5 min. */
export function refreshRetryDelayMs(failures: number, retryAfterSeconds?: number): number {
  const exponential = Math.min(300_000, 5_000 * 2 ** Math.max(0, failures - 1));
  const requested = retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 : 0;
  return Math.max(exponential, Math.min(requested, 3_600_000));
}

function clamp01(value: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return value >= 1 ? 0.999999 : value;
}

/**
 * The one rule for "this connection is kept fresh": OAuth 2.0 credentials that hold a refresh token
 * and expire, from a provider not marked `refreshable: false`; or expiring credentials of a client
 * credentials connection, which are renewed with the grant itself (no refresh token involved).
 * Anything else gets no refresh loop, and its token is served until it expires.
 */
export function isRefreshable(
  provider: { protocol: string; refreshable?: boolean },
  credentials: { protocol: string; refreshToken?: string } | undefined,
  expiresAt: string | null,
  grant?: ConnectionGrant,
): boolean {
  if (grant === 'client_credentials') return provider.protocol === 'oauth2' && credentials?.protocol === 'oauth2' && expiresAt !== null;
  return (
    provider.protocol === 'oauth2' &&
    provider.refreshable !== false &&
    credentials?.protocol === 'oauth2' &&
    credentials.refreshToken !== undefined &&
    expiresAt !== null
  );
}
