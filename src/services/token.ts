/**
 * GET /connections/{id}/token and POST /connections/{id}/refresh. Reads are served from a short
 * in-process cache while fresh. When the token is due, the connection's orchestration refreshes it
 * (raise "refresh", wait for a newer credentials version): the orchestration runs one refresh at a
 * time, so any number of callers on any number of hosts cause one token request. Within one process,
 * concurrent waiters share a single wait (single flight).
 */
import { isUsable, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { MIN_REMAINING_LIFETIME_MS, refreshMarginMs, shouldRefresh } from '../domain/refresh-policy';
import { Events, Orchestrations } from '../durable/names';
import type { MaintainPhaseInput, RefreshEvent } from '../orchestrations/connection-types';
import type { Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import { DurableClientLike, isRunning, tryGetStatus } from './durable';
import type { Runtime } from './runtime';

export type TokenView =
  | { tokenType: string; accessToken: string; expiresAt: string | null; scopes: string[] }
  | { oauthToken: string; oauthTokenSecret: string };

export interface TokenTimings {
  cacheTtlMs: number;
  refreshWaitMs: number;
  pollIntervalMs: number;
  /** Re-raise the refresh event this often while waiting, in case one was dropped. */
  reraiseEveryMs: number;
}

export const DEFAULT_TOKEN_TIMINGS: TokenTimings = { cacheTtlMs: 5_000, refreshWaitMs: 30_000, pollIntervalMs: 100, reraiseEveryMs: 5_000 };

interface CacheEntry {
  view: TokenView;
  validUntilMs: number;
}

const cache = new Map<string, CacheEntry>();
const inflight = new Map<string, Promise<StoredConnection>>();

function cacheKey(clientId: string, connectionId: string): string {
  return `${clientId}\u0000${connectionId}`;
}

/** Drops the cached token (revocation, forced refresh) so this process never serves it again. */
export function forgetToken(clientId: string, connectionId: string): void {
  cache.delete(cacheKey(clientId, connectionId));
}

export async function getToken(
  runtime: Runtime,
  durable: DurableClientLike,
  clientId: string,
  connectionId: string,
  timings: TokenTimings = DEFAULT_TOKEN_TIMINGS,
): Promise<TokenView> {
  const key = cacheKey(clientId, connectionId);
  const cached = cache.get(key);
  if (cached && cached.validUntilMs > Date.now()) return cached.view;

  let stored = await runtime.connections.require(clientId, connectionId);
  assertUsable(stored.connection);
  let credentials = await readCredentials(runtime, stored);

  if (credentials.protocol === 'oauth2') {
    const decision = shouldRefresh(issuedAtMs(stored), expiresAtMs(stored.connection), Date.now());
    if (decision.should || stored.connection.status === 'refreshing') {
      if (!credentials.refreshToken && decision.reason === 'expired') {
        throw new BrokerError('CONNECTION_NOT_CONNECTED', 'the access token has expired and the provider issued no refresh token', {
          details: { status: stored.connection.status },
        });
      }
      const seenVersion = stored.connection.credentialsVersion;
      stored = await refreshOnce(runtime, durable, stored, false, timings);
      assertUsable(stored.connection);
      credentials = await readCredentials(runtime, stored);
      const remainingMs = (expiresAtMs(stored.connection) ?? Infinity) - Date.now();
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

  const view = toView(stored.connection, credentials);
  cache.set(key, { view, validUntilMs: cacheValidUntil(stored, timings) });
  return view;
}

/** Forces a refresh and answers once a newer credentials version is stored. */
export async function forceRefresh(
  runtime: Runtime,
  durable: DurableClientLike,
  clientId: string,
  connectionId: string,
  timings: TokenTimings = DEFAULT_TOKEN_TIMINGS,
): Promise<Connection> {
  const stored = await runtime.connections.require(clientId, connectionId);
  assertUsable(stored.connection);
  const credentials = await readCredentials(runtime, stored);
  if (credentials.protocol !== 'oauth2' || !credentials.refreshToken) {
    throw new BrokerError('CONNECTION_NOT_CONNECTED', 'this connection has no refresh token to refresh with', {
      details: { status: stored.connection.status },
    });
  }
  forgetToken(clientId, connectionId);
  const refreshed = await refreshOnce(runtime, durable, stored, true, timings);
  return refreshed.connection;
}

function refreshOnce(runtime: Runtime, durable: DurableClientLike, stored: StoredConnection, force: boolean, timings: TokenTimings) {
  const key = `${cacheKey(stored.connection.clientId, stored.connection.connectionId)}\u0000${stored.connection.credentialsVersion}`;
  let wait = inflight.get(key);
  if (!wait) {
    wait = requestRefreshAndWait(runtime, durable, stored, force, timings).finally(() => inflight.delete(key));
    inflight.set(key, wait);
  }
  return wait;
}

async function requestRefreshAndWait(
  runtime: Runtime,
  durable: DurableClientLike,
  stored: StoredConnection,
  force: boolean,
  timings: TokenTimings,
): Promise<StoredConnection> {
  const { clientId, connectionId, credentialsVersion: seenVersion } = stored.connection;
  const event: RefreshEvent = { seenVersion, force };
  const startedAt = Date.now();
  const deadline = startedAt + timings.refreshWaitMs;
  let nextRaiseAt = 0;
  for (let delay = 10; ; delay = Math.min(Math.ceil(delay * 1.5), timings.pollIntervalMs)) {
    if (Date.now() >= nextRaiseAt) {
      await raiseRefresh(durable, stored, event);
      nextRaiseAt = Date.now() + timings.reraiseEveryMs;
    }
    await sleep(delay);
    const current = await runtime.connections.require(clientId, connectionId);
    if (current.connection.credentialsVersion > seenVersion) return current;
    if (!isUsable(current.connection.status)) return current;
    // A refresh attempt failed transiently after we asked: the caller decides whether the last
    // good token is still good enough to hand out.
    const error = current.connection.error;
    if (error && Date.parse(error.at) >= startedAt - 1_000 && current.connection.status === 'connected') return current;
    if (Date.now() >= deadline) {
      throw new BrokerError('REFRESH_TIMEOUT', 'the refresh did not complete in time; the previous token is kept', { transient: true });
    }
  }
}

/**
 * Raises "refresh" on the running orchestration; when none runs (e.g. an operator terminated it),
 * starts the maintain phase again so the connection keeps its refresh loop.
 */
async function raiseRefresh(durable: DurableClientLike, stored: StoredConnection, event: RefreshEvent): Promise<void> {
  const c = stored.connection;
  const status = await tryGetStatus(durable, c.connectionId);
  if (status && isRunning(status.runtimeStatus)) {
    await durable.raiseEvent(c.connectionId, Events.Refresh, event);
    return;
  }
  const input: MaintainPhaseInput = {
    phase: 'maintain',
    connectionId: c.connectionId,
    clientId: c.clientId,
    provider: c.provider,
    protocol: c.protocol,
    credentialsVersion: c.credentialsVersion,
    issuedAt: stored.issuedAt ?? c.updatedAt,
    expiresAt: c.expiresAt ?? new Date().toISOString(),
    failures: 0,
    retryAt: new Date().toISOString(),
    cycle: 0,
  };
  try {
    await durable.startNew(Orchestrations.Connection, { instanceId: c.connectionId, input });
  } catch {
    // Another caller (or host) restarted it first: ask that one instead.
    await durable.raiseEvent(c.connectionId, Events.Refresh, event).catch(() => undefined);
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

function cacheValidUntil(stored: StoredConnection, timings: TokenTimings): number {
  const expiresAt = expiresAtMs(stored.connection);
  const ttlEnd = Date.now() + timings.cacheTtlMs;
  if (expiresAt === null) return ttlEnd;
  // Never past the point where a reader would have to refresh.
  const margin = refreshMarginMs(issuedAtMs(stored), expiresAt);
  return Math.min(ttlEnd, expiresAt - Math.max(margin, MIN_REMAINING_LIFETIME_MS));
}

function issuedAtMs(stored: StoredConnection): number {
  return Date.parse(stored.issuedAt ?? stored.connection.updatedAt);
}

function expiresAtMs(connection: Connection): number | null {
  return connection.expiresAt ? Date.parse(connection.expiresAt) : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
