/**
 * Refresh activity. One writer per refresh: the activity takes a lease on the connection row (owner
 * and expiry, written with the row's ETag), so a second refresher, a duplicate run of the activity
 * (activities run at least once) or the activity of a replaced orchestration, backs off instead of
 * presenting the same refresh token twice. Everything is decided against the credentials version
 * the orchestration holds: a version that moved on means another writer already refreshed, and a
 * failure is applied only to the version it was about. The rotated refresh token is sealed into the
 * row right after the provider answers, before anything else can fail. Provider errors become
 * outcomes (never thrown into durable history): transient → keep the last good credentials and
 * `connected`, invalid_grant → `reauth_required`, other terminal errors → `failed`. Storage errors
 * are thrown: the orchestration retries the activity, which re-reads the row.
 */
import { randomUUID } from 'node:crypto';
import type { Connection, ExpirySource, UpstreamAccount } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import { afterRefreshFailure, DEFAULT_REFRESH_FAILURE_SPAN_MS, isRecovery } from '../domain/refresh-attempts';
import { isRefreshable, watchdogDueAt } from '../domain/refresh-policy';
import { DEFAULT_PROVIDER_TIMEOUT_MS } from '../oauth/http';
import { obtainClientCredentialsToken } from '../oauth/oauth2/client-credentials';
import { refreshAccessToken } from '../oauth/oauth2/client';
import { dpopTokenOptions } from '../oauth/oauth2/dpop';
import { expectsIdToken, idTokenCheck, providerServer, withRediscovery } from '../oauth/oauth2/endpoints';
import { validateRefreshedIdToken, type IdTokenCheck } from '../oauth/oauth2/id-token';
import type { TransportOptions } from '../oauth/oauth2/library';
import type { OAuth2TokenSet } from '../oauth/oauth2/token-response';
import type { RefreshResult } from '../durable/contract';
import type { OAuth2Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import { oauth2Client, tokenLifetimeOf } from './provider-clients';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export interface RefreshInput {
  connectionId: string;
  clientId: string;
  expectedVersion: number;
}

/**
 * How long a refresh holds its lease: three times the token request's timeout, so a live holder
 * always finishes first, while a holder that died (its host killed mid-refresh) delays the next
 * refresh by at most this much, well inside the default 60 s margin's second half.
 */
export const REFRESH_LEASE_MS = 3 * DEFAULT_PROVIDER_TIMEOUT_MS;

export async function refreshCredentials(runtime: Runtime, input: RefreshInput): Promise<RefreshResult> {
  try {
    return await refresh(runtime, input);
  } finally {
    // The row may have changed (new token, failure, erased grant): this process reads it afresh.
    runtime.tokens.forget(input.clientId, input.connectionId);
  }
}

/**
 * The row as this process last wrote it (normally by the previous refresh) saves the read: the
 * lease is written conditional on its ETag, so a row someone else changed since fails that write
 * and is read afresh. Whatever would end the refresh without a write is decided on a fresh read.
 */
async function refresh(runtime: Runtime, input: RefreshInput): Promise<RefreshResult> {
  const written = await runtime.connections.lastWritten(input.clientId, input.connectionId);
  if (written) {
    const result = await refreshRow(runtime, input, written, false);
    if (result !== UNREAD) return result;
  }
  return refreshRow(runtime, input, await runtime.connections.get(input.clientId, input.connectionId), true);
}

/** Answered for a row not read from storage when the refresh would end without writing it. */
const UNREAD = Symbol('unread');

function refreshRow(runtime: Runtime, input: RefreshInput, stored: StoredConnection | undefined, fresh: true): Promise<RefreshResult>;
function refreshRow(runtime: Runtime, input: RefreshInput, stored: StoredConnection | undefined, fresh: false): Promise<RefreshResult | typeof UNREAD>;
async function refreshRow(runtime: Runtime, input: RefreshInput, stored: StoredConnection | undefined, fresh: boolean): Promise<RefreshResult | typeof UNREAD> {
  const withoutWrite = (result: () => RefreshResult | Promise<RefreshResult>) => (fresh ? result() : UNREAD);
  if (!stored) return withoutWrite(() => ({ outcome: 'gone' }));
  const reauthorizing = newerAttempt(stored.connection);
  if (reauthorizing) return withoutWrite(() => reauthorizing);
  if (!['connected', 'refreshing'].includes(stored.connection.status)) return withoutWrite(() => ({ outcome: 'gone' }));
  // Another writer (or this activity's earlier run, whose answer was lost) already refreshed.
  if (stored.connection.credentialsVersion > input.expectedVersion) return withoutWrite(() => refreshedFrom(runtime, stored));

  const provider = runtime.providers.get(stored.connection.provider);
  const credentials = await runtime.connections.openCredentials(stored);
  // A client credentials connection fetches a new token with the grant, its first one included.
  const machine = stored.connection.grant === 'client_credentials';
  if (provider.protocol !== 'oauth2' || (credentials !== undefined && credentials.protocol !== 'oauth2')) return withoutWrite(() => ({ outcome: 'gone' }));
  if (!machine && !isRefreshable(provider, credentials, stored.connection.expiresAt)) return withoutWrite(() => ({ outcome: 'gone' }));

  const owner = randomUUID();
  const lease = await takeLease(runtime, stored, input, owner);
  if (lease.kind === 'declined' && !lease.read && !fresh) return UNREAD;
  if (lease.kind !== 'taken') return lease.result;

  const now = runtime.clock.now();
  let next: OAuth2Credentials;
  let expiresAt: string | null;
  let expiresAtSource: ExpirySource | undefined;
  let scopes: string[];
  try {
    const client = await oauth2Client(runtime, provider);
    const send = { send: runtime.http.send };
    // The connection's account came from an ID Token: a refreshed one must name the same account.
    const account = expectsIdToken(provider, stored.connection.scopes) ? stored.connection.account : undefined;
    const server = await providerServer(provider, send, account ? ['jwksUrl'] : []);
    const dpop = await dpopTokenOptions(credentials?.dpopKey, runtime.dpopNonces.for(provider.name), send);
    const tokens = await withRediscovery(provider, server, () =>
      machine
        ? obtainClientCredentialsToken(
            { ...client, tokenUrl: server.tokenUrl, scopes: stored.connection.scopes, scopeSeparator: provider.scopeSeparator, tokenParams: provider.tokenParams },
            dpop,
          )
        : refreshAccessToken(
            {
              ...client,
              tokenUrl: server.tokenUrl,
              refreshToken: credentials?.refreshToken as string,
              tokenParams: provider.tokenParams,
              requestedScopes: stored.connection.scopes,
              scopeSeparator: provider.scopeSeparator,
            },
            dpop,
          ),
    );
    const idToken = await refreshedIdToken(tokens, account && idTokenCheck(provider, server, client.clientId, stored.connection.scopes, undefined), account, dpop);
    next = {
      protocol: 'oauth2',
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      ...(idToken ? { idToken } : credentials?.idToken ? { idToken: credentials.idToken } : {}),
      ...(credentials?.dpopKey ? { dpopKey: credentials.dpopKey } : {}),
    };
    ({ expiresAt, source: expiresAtSource } = await tokenLifetimeOf(provider, server, client, tokens, now, send));
    scopes = tokens.scopes;
  } catch (error) {
    return recordFailure(runtime, input, owner, error);
  }

  // First thing after the provider answered: a rotated refresh token is only good once it is stored.
  const nowIso = now.toISOString();
  const refreshable = isRefreshable(provider, next, expiresAt, stored.connection.grant);
  const saved = await saveWithRetry(runtime, lease.stored, (connection) => {
    if (connection.status === 'revoked') return undefined;
    return {
      next: {
        ...withoutLease(connection),
        status: connection.status === 'refreshing' ? 'connected' : connection.status,
        scopes,
        expiresAt,
        expiresAtSource,
        refreshAttempts: undefined,
        lastRefreshedAt: nowIso,
        updatedAt: nowIso,
        credentialsVersion: connection.credentialsVersion + 1,
        error: undefined,
        refreshDueAt: watchdogDueAt(nowIso, expiresAt, refreshable, runtime.settings.refreshMarginMs),
      },
      change: { credentials: next, issuedAt: nowIso },
    };
  });
  if (!saved) return { outcome: 'gone' };
  const dueAt = stored.connection.refreshDueAt;
  await runtime.audit.record({
    connectionId: input.connectionId,
    clientId: input.clientId,
    type: 'refreshed',
    at: nowIso,
    about: `v${saved.connection.credentialsVersion}`,
    details: {
      credentialsVersion: saved.connection.credentialsVersion,
      // How long after it was due the token was refreshed (negative: ahead of time, e.g. forced).
      latenessMs: dueAt ? now.getTime() - Date.parse(dueAt) : null,
      remainingMs: stored.connection.expiresAt ? Date.parse(stored.connection.expiresAt) - now.getTime() : null,
      refreshTokenRotated: next.refreshToken !== undefined && next.refreshToken !== credentials?.refreshToken,
      expiresAt,
    },
  });
  return {
    outcome: 'refreshed',
    credentialsVersion: saved.connection.credentialsVersion,
    issuedAt: nowIso,
    expiresAt,
    refreshable,
    refreshMarginMs: runtime.settings.refreshMarginMs,
    ...(isRecovery(lease.stored.connection.refreshAttempts) ? { recovered: true as const } : {}),
    // A client credentials connection's first token: the connection has just become connected.
    ...(lease.stored.connection.credentialsVersion === 0 ? { first: true as const } : {}),
  };
}

/** `read`: the decline was decided on a row read again after a write that lost to another writer. */
type LeaseOutcome = { kind: 'taken'; stored: StoredConnection } | { kind: 'declined'; result: RefreshResult; read: boolean };

/** Marks the row `refreshing` under this refresh's lease, unless the version moved on or another refresh holds it. */
async function takeLease(runtime: Runtime, stored: StoredConnection, input: RefreshInput, owner: string): Promise<LeaseOutcome> {
  const nowMs = runtime.clock.now().getTime();
  let declined: RefreshResult | 'version-moved' | undefined;
  let seen = stored;
  const taken = await saveWithRetry(runtime, stored, (connection, current) => {
    seen = current;
    declined = leaseRefusal(connection, input, nowMs);
    if (declined) return undefined;
    const until = new Date(nowMs + REFRESH_LEASE_MS).toISOString();
    return { next: { ...connection, status: 'refreshing', updatedAt: new Date(nowMs).toISOString(), refreshLease: { owner, until } }, change: {} };
  });
  if (taken) return { kind: 'taken', stored: taken };
  const read = seen !== stored;
  if (declined === 'version-moved') return { kind: 'declined', result: await refreshedFrom(runtime, seen), read };
  return { kind: 'declined', result: declined ?? { outcome: 'gone' }, read };
}

function leaseRefusal(connection: Connection, input: RefreshInput, nowMs: number): RefreshResult | 'version-moved' | undefined {
  const reauthorizing = newerAttempt(connection);
  if (reauthorizing) return reauthorizing;
  if (connection.status !== 'connected' && connection.status !== 'refreshing') return { outcome: 'gone' };
  if (connection.credentialsVersion > input.expectedVersion) return 'version-moved';
  const held = connection.refreshLease;
  if (held && Date.parse(held.until) > nowMs) {
    // Another refresh is in flight: come back when its lease ends (by then the version has moved on).
    return { outcome: 'transient', errorCode: 'REFRESH_IN_PROGRESS', retryAfterSeconds: Math.ceil((Date.parse(held.until) - nowMs) / 1000) };
  }
  return undefined;
}

/**
 * The ID Token to keep from a refresh answer: a new one only once it is checked against the
 * connection's account (when it has one). A forged or foreign token fails the refresh; when the
 * check cannot run now (the keys unreachable), the answer's tokens are still kept, since a rotated
 * refresh token is good only once, with the ID Token checked before.
 */
async function refreshedIdToken(
  tokens: OAuth2TokenSet,
  check: IdTokenCheck | undefined,
  account: UpstreamAccount | undefined,
  transport: TransportOptions,
): Promise<string | undefined> {
  if (!tokens.idToken || !check || !account) return tokens.idToken;
  try {
    await validateRefreshedIdToken({ ...tokens, idToken: tokens.idToken }, check, account, transport);
    return tokens.idToken;
  } catch (error) {
    if (isBrokerError(error) && error.transient) return undefined;
    throw error;
  }
}

async function recordFailure(runtime: Runtime, input: RefreshInput, owner: string, error: unknown): Promise<RefreshResult> {
  const broker = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'refresh failed');
  const now = runtime.clock.now();
  const at = now.toISOString();
  // Re-read before judging: a newer version means another writer won the race, and whatever this
  // refresh was told (invalid_grant for a token already rotated away) is about credentials replaced since.
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  if (stored && stored.connection.credentialsVersion > input.expectedVersion) return await refreshedFrom(runtime, stored);
  // Transient failures are counted; once they have lasted the configured span, the user is needed again.
  const spanMs = (runtime.settings.refreshFailureSpanSeconds ?? DEFAULT_REFRESH_FAILURE_SPAN_MS / 1000) * 1000;
  const verdict = broker.transient ? afterRefreshFailure(stored?.connection.refreshAttempts, now, spanMs) : undefined;
  const exhausted = verdict?.exhausted === true;
  // Without a first token yet (client credentials) the connection stays `refreshing`; with no end
  // user there is nobody to reauthorize, so a refused grant is a failure.
  const nothingIssued = input.expectedVersion === 0;
  const machine = stored?.connection.grant === 'client_credentials';
  const status: Connection['status'] =
    broker.transient && !exhausted
      ? nothingIssued ? 'refreshing' : 'connected'
      : exhausted || ((broker.code === 'OAUTH_INVALID_GRANT' || broker.code === 'ID_TOKEN_INVALID') && !machine) ? 'reauth_required' : 'failed';
  const recorded = exhausted
    ? {
        code: 'REFRESH_EXHAUSTED' as const,
        message: `refreshes have failed since ${verdict.attempts.firstFailureAt} (${verdict.attempts.failures} attempts; last: ${broker.code})`,
        providerError: broker.providerError,
        at,
      }
    : { code: broker.code, message: broker.message, providerError: broker.providerError, at };
  if (stored) {
    const saved = await saveWithRetry(runtime, stored, (connection) => {
      const ours = connection.credentialsVersion === input.expectedVersion && connection.refreshLease?.owner === owner;
      if (!ours || (connection.status !== 'refreshing' && connection.status !== 'connected')) return undefined;
      return {
        next: { ...withoutLease(connection), status, updatedAt: at, error: recorded, refreshAttempts: verdict?.attempts },
        // The last good credentials stay after a transient failure (and after exhaustion, so a
        // revocation can still reach the provider); a dead grant's are erased.
        change: status === 'reauth_required' && !exhausted ? { credentials: null } : {},
      };
    });
    if (saved) {
      await runtime.audit.record({
        connectionId: input.connectionId,
        clientId: input.clientId,
        type: 'refresh_failed',
        at,
        about: `v${input.expectedVersion}`,
        details: { errorCode: broker.code, providerError: broker.providerError, transient: broker.transient, status },
      });
    }
  }
  if (broker.transient && !exhausted) return { outcome: 'transient', errorCode: broker.code, retryAfterSeconds: broker.retryAfterSeconds };
  return { outcome: status === 'reauth_required' ? 'reauth_required' : 'failed', errorCode: recorded.code };
}

/** The row records a newer authorization attempt (reauthorize) than the maintain loop knows of. */
function newerAttempt(connection: Connection): RefreshResult | undefined {
  if (connection.status !== 'awaiting_callback' || !connection.authorizationId || !connection.authorizationExpiresAt) return undefined;
  return { outcome: 'reauthorizing', authorizationId: connection.authorizationId, deadline: connection.authorizationExpiresAt };
}

/** The answer for credentials someone else already refreshed: the loop continues from them. */
async function refreshedFrom(runtime: Runtime, stored: StoredConnection): Promise<RefreshResult> {
  const c = stored.connection;
  const credentials = await runtime.connections.openCredentials(stored);
  return {
    outcome: 'refreshed',
    credentialsVersion: c.credentialsVersion,
    issuedAt: stored.issuedAt ?? c.updatedAt,
    expiresAt: c.expiresAt,
    refreshable: isRefreshable(runtime.providers.get(c.provider), credentials, c.expiresAt, c.grant),
    refreshMarginMs: runtime.settings.refreshMarginMs,
  };
}

function withoutLease(connection: Connection): Connection {
  const { refreshLease: _released, ...rest } = connection;
  return rest;
}
