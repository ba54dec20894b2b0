/**
 * GET /connections/{id}/token and POST /connections/{id}/refresh. Reads are served from the
 * runtime's short per-process token cache while fresh. When the token is due, the connection's
 * orchestration refreshes it (raise "refresh", wait for a newer credentials version): the
 * orchestration runs one refresh at a time, so any number of callers on any number of hosts cause one
 * token request. Within one process, concurrent waiters share a single wait (single flight).
 */
import { isUsable, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { isRefreshable, MIN_REMAINING_LIFETIME_MS, refreshMarginMs, shouldRefresh } from '../domain/refresh-policy';
import { raiseOrStart } from '../durable/client';
import { restartedMaintainPhase } from '../durable/contract';
import { Events } from '../durable/names';
import type { Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import type { Runtime } from './runtime';
import type { TokenView } from './token-cache';
import { waitForConnection } from './wait-for-connection';

export type { TokenView } from './token-cache';

export const TOKEN_TIMINGS = {
  cacheTtlMs: 5_000,
  refreshWaitMs: 30_000,
  pollIntervalMs: 100,
  /** Raise the refresh event again this often while waiting, in case one was dropped. */
  reraiseEveryMs: 5_000,
} as const;

/** A refresh failure recorded this long before the wait began still counts as "after we asked" (clock skew). */
const FAILURE_SKEW_MS = 1_000;

/**
 * GET /connections/{id}/token: the token handed out to the client, counted per hour in the audit
 * trail. `requiredScopes`: the caller needs these; a connection granted fewer answers SCOPES_MISSING
 * naming them, so the client can ask for them with POST …/reauthorize {scopes} (incremental authorization).
 */
export async function getToken(runtime: Runtime, clientId: string, connectionId: string, requiredScopes?: readonly string[]): Promise<TokenView> {
  const view = await currentToken(runtime, clientId, connectionId, requiredScopes);
  runtime.audit.count('token_reads', connectionId, clientId);
  return view;
}

/** A valid token for the broker's own use (the proxy), refreshed first when due. */
export async function currentToken(runtime: Runtime, clientId: string, connectionId: string, requiredScopes?: readonly string[]): Promise<TokenView> {
  const cached = runtime.tokens.get(clientId, connectionId);
  if (cached) {
    if (requiredScopes) assertScopesGranted('scopes' in cached ? cached.scopes : [], requiredScopes);
    return cached;
  }

  let stored = await runtime.connections.require(clientId, connectionId);
  assertUsable(stored.connection);
  if (stored.connection.credentialsVersion === 0 && stored.connection.grant === 'client_credentials') {
    // The first token of a client credentials connection is on its way: wait for it like for a refresh.
    stored = await refreshOnce(runtime, stored);
    assertUsable(stored.connection);
  }
  if (requiredScopes) assertScopesGranted(stored.connection.scopes, requiredScopes);
  let credentials = await readCredentials(runtime, stored);

  if (credentials.protocol === 'oauth2') {
    const decision = shouldRefresh(issuedAtMs(stored), expiresAtMs(stored.connection), nowMs(runtime), runtime.settings.refreshMarginMs);
    if (decision.should || stored.connection.status === 'refreshing') {
      const refreshable = isRefreshable(runtime.providers.get(stored.connection.provider), credentials, stored.connection.expiresAt, stored.connection.grant);
      if (!refreshable && decision.reason === 'expired') {
        throw new BrokerError('CONNECTION_NOT_CONNECTED', 'the access token has expired and the provider issued no refresh token', {
          details: { status: stored.connection.status },
        });
      }
      if (refreshable) {
        const seenVersion = stored.connection.credentialsVersion;
        stored = await refreshOnce(runtime, stored);
        assertUsable(stored.connection);
        credentials = await readCredentials(runtime, stored);
        const remainingMs = (expiresAtMs(stored.connection) ?? Infinity) - nowMs(runtime);
        if (stored.connection.credentialsVersion === seenVersion && remainingMs <= MIN_REMAINING_LIFETIME_MS) {
          throw new BrokerError('PROVIDER_UNAVAILABLE', 'the provider could not refresh the token yet; the broker keeps retrying', {
            transient: true,
            retryAfterSeconds: 5,
          });
        }
        // Refresh failed but the last good token is still valid: serve it, uncached.
        if (stored.connection.credentialsVersion === seenVersion) return toView(stored.connection, credentials);
      }
    }
  }

  const view = toView(stored.connection, credentials);
  runtime.tokens.set(clientId, connectionId, view, cacheValidUntil(runtime, stored));
  return view;
}

/** Forces a refresh and answers once a newer credentials version is stored. */
export async function forceRefresh(runtime: Runtime, clientId: string, connectionId: string): Promise<Connection> {
  // Before the row is read: a refusal costs nothing and starts nothing.
  runtime.limits.admitForcedRefresh(clientId, connectionId);
  const stored = await runtime.connections.require(clientId, connectionId);
  assertUsable(stored.connection);
  const credentials = await readCredentials(runtime, stored);
  if (!isRefreshable(runtime.providers.get(stored.connection.provider), credentials, stored.connection.expiresAt, stored.connection.grant)) {
    throw new BrokerError('CONNECTION_NOT_CONNECTED', 'this connection has no refresh token to refresh with', {
      details: { status: stored.connection.status },
    });
  }
  runtime.tokens.forget(clientId, connectionId);
  const refreshed = await refreshOnce(runtime, stored);
  return refreshed.connection;
}

function refreshOnce(runtime: Runtime, stored: StoredConnection): Promise<StoredConnection> {
  const { clientId, connectionId, credentialsVersion } = stored.connection;
  return runtime.tokens.singleFlight(clientId, connectionId, credentialsVersion, () => requestRefreshAndWait(runtime, stored));
}

async function requestRefreshAndWait(runtime: Runtime, stored: StoredConnection): Promise<StoredConnection> {
  const c = stored.connection;
  const seenVersion = c.credentialsVersion;
  const startedAtMs = nowMs(runtime);
  let nextRaiseAtMs = 0;
  const result = await waitForConnection(
    runtime,
    c,
    (current) => {
      if (!current) return true;
      if (current.connection.credentialsVersion > seenVersion || !isUsable(current.connection.status)) return true;
      // A refresh attempt failed transiently after we asked: the caller decides whether the last
      // good token is still good enough to hand out.
      const error = current.connection.error;
      // (Before a client credentials connection's first token, a failure leaves it `refreshing`.)
      const settledAfterFailure = current.connection.status === 'connected' || current.connection.credentialsVersion === 0;
      return error !== undefined && Date.parse(error.at) >= startedAtMs - FAILURE_SKEW_MS && settledAfterFailure;
    },
    {
      timeoutMs: TOKEN_TIMINGS.refreshWaitMs,
      maxPollMs: TOKEN_TIMINGS.pollIntervalMs,
      beforeRead: async (last) => {
        // A refresh in flight means the orchestration has the request: raising again would only
        // queue a second refresh behind it (e.g. right after this one failed transiently).
        if (nowMs(runtime) < nextRaiseAtMs || last?.connection.status === 'refreshing') return;
        // When no orchestration runs (e.g. an operator terminated it), the maintain phase starts
        // again, so the connection keeps its refresh loop; a lost raise is retried on the next turn.
        await raiseOrStart(runtime.durable, c.instanceId, Events.Refresh, { seenVersion }, () =>
          restartedMaintainPhase(c, stored.issuedAt ?? c.updatedAt, runtime.clock.now()),
        );
        nextRaiseAtMs = nowMs(runtime) + TOKEN_TIMINGS.reraiseEveryMs;
      },
    },
  );
  if (!result.stored) throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
  if (!result.reached) {
    throw new BrokerError('REFRESH_TIMEOUT', 'the refresh did not complete in time; the previous token is kept', { transient: true });
  }
  return result.stored;
}

export function assertScopesGranted(granted: readonly string[], required: readonly string[]): void {
  const missing = required.filter((scope) => !granted.includes(scope));
  if (missing.length > 0) {
    throw new BrokerError('SCOPES_MISSING', `the connection was not granted: ${missing.join(' ')}`, { details: { missing, granted: [...granted] } });
  }
}

/** Throws CONNECTION_REVOKED (410) or CONNECTION_NOT_CONNECTED (409) unless the connection can be used. */
export function assertUsable(connection: Connection): void {
  if (connection.status === 'revoked') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  if (!isUsable(connection.status)) {
    throw new BrokerError('CONNECTION_NOT_CONNECTED', `the connection is ${connection.status}`, { details: { status: connection.status } });
  }
}

async function readCredentials(runtime: Runtime, stored: StoredConnection): Promise<Credentials> {
  const credentials = await runtime.connections.openCredentials(stored);
  if (!credentials) {
    throw new BrokerError('CONNECTION_NOT_CONNECTED', 'the connection holds no credentials', { details: { status: stored.connection.status } });
  }
  return credentials;
}

function toView(connection: Connection, credentials: Credentials): TokenView {
  if (credentials.protocol === 'oauth1') return { oauthToken: credentials.oauthToken, oauthTokenSecret: credentials.oauthTokenSecret };
  return { tokenType: credentials.tokenType, accessToken: credentials.accessToken, expiresAt: connection.expiresAt, scopes: connection.scopes };
}

function cacheValidUntil(runtime: Runtime, stored: StoredConnection): number {
  const expiresAt = expiresAtMs(stored.connection);
  const ttlEnd = nowMs(runtime) + TOKEN_TIMINGS.cacheTtlMs;
  if (expiresAt === null) return ttlEnd;
  // Never past the point where a reader would have to refresh.
  const margin = refreshMarginMs(issuedAtMs(stored), expiresAt, runtime.settings.refreshMarginMs);
  return Math.min(ttlEnd, expiresAt - Math.max(margin, MIN_REMAINING_LIFETIME_MS));
}

function nowMs(runtime: Runtime): number {
  return runtime.clock.now().getTime();
}

function issuedAtMs(stored: StoredConnection): number {
  return Date.parse(stored.issuedAt ?? stored.connection.updatedAt);
}

function expiresAtMs(connection: Connection): number | null {
  return connection.expiresAt ? Date.parse(connection.expiresAt) : null;
}
