/**
 * Refresh activity. Only the connection's orchestration calls it, so refreshes of one connection
 * never run concurrently. The rotated refresh token is sealed into the row immediately after the
 * provider answers, before anything else can fail. Errors become outcomes (never thrown into durable
 * history): transient → keep the last good credentials and `connected`, invalid_grant →
 * `reauth_required`, other terminal errors → `failed`.
 */
import type { Connection, ExpirySource } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import { afterRefreshFailure, DEFAULT_REFRESH_FAILURE_SPAN_MS, isRecovery } from '../domain/refresh-attempts';
import { isRefreshable } from '../domain/refresh-policy';
import { refreshAccessToken } from '../oauth/oauth2/client';
import { providerServer, withRediscovery } from '../oauth/oauth2/endpoints';
import type { RefreshResult } from '../durable/contract';
import type { OAuth2Credentials } from '../storage/credentials';
import { oauth2Client, tokenLifetimeOf } from './provider-clients';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export interface RefreshInput {
  connectionId: string;
  clientId: string;
  expectedVersion: number;
}

export async function refreshCredentials(runtime: Runtime, input: RefreshInput): Promise<RefreshResult> {
  try {
    return await refresh(runtime, input);
  } finally {
    // The row may have changed (new token, failure, erased grant): this process reads it afresh.
    runtime.tokens.forget(input.clientId, input.connectionId);
  }
}

async function refresh(runtime: Runtime, input: RefreshInput): Promise<RefreshResult> {
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  if (!stored || !['connected', 'refreshing'].includes(stored.connection.status)) return { outcome: 'gone' };
  const provider = runtime.providers.get(stored.connection.provider);
  const credentials = await runtime.connections.openCredentials(stored);
  if (
    provider.protocol !== 'oauth2' ||
    credentials?.protocol !== 'oauth2' ||
    !credentials.refreshToken ||
    !isRefreshable(provider, credentials, stored.connection.expiresAt)
  ) {
    return { outcome: 'gone' };
  }

  const marked = await saveWithRetry(runtime, stored, (connection) =>
    connection.status === 'connected' || connection.status === 'refreshing'
      ? { next: { ...connection, status: 'refreshing', updatedAt: runtime.clock.now().toISOString() }, change: {} }
      : undefined,
  );
  if (!marked) return { outcome: 'gone' };

  const now = runtime.clock.now();
  let next: OAuth2Credentials;
  let expiresAt: string | null;
  let expiresAtSource: ExpirySource | undefined;
  let scopes: string[];
  try {
    const client = await oauth2Client(runtime, provider);
    const send = { send: runtime.http.send };
    const server = await providerServer(provider, send);
    const refreshToken = credentials.refreshToken;
    const tokens = await withRediscovery(provider, server, () =>
      refreshAccessToken({
        ...client,
        tokenUrl: server.tokenUrl,
        refreshToken,
        tokenParams: provider.tokenParams,
        requestedScopes: stored.connection.scopes,
        scopeSeparator: provider.scopeSeparator,
      }, send),
    );
    next = {
      protocol: 'oauth2',
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      ...(tokens.idToken ? { idToken: tokens.idToken } : credentials.idToken ? { idToken: credentials.idToken } : {}),
    };
    ({ expiresAt, source: expiresAtSource } = await tokenLifetimeOf(provider, server, client, tokens, now, send));
    scopes = tokens.scopes;
  } catch (error) {
    return recordFailure(runtime, input, error);
  }

  const nowIso = now.toISOString();
  const saved = await saveWithRetry(runtime, marked, (connection) => {
    if (connection.status === 'revoked') return undefined;
    return {
      next: {
        ...connection,
        status: connection.status === 'refreshing' ? 'connected' : connection.status,
        scopes,
        expiresAt,
        expiresAtSource,
        refreshAttempts: undefined,
        lastRefreshedAt: nowIso,
        updatedAt: nowIso,
        credentialsVersion: connection.credentialsVersion + 1,
        error: undefined,
      },
      change: { credentials: next, issuedAt: nowIso },
    };
  });
  if (!saved) return { outcome: 'gone' };
  return {
    outcome: 'refreshed',
    credentialsVersion: saved.connection.credentialsVersion,
    issuedAt: nowIso,
    expiresAt,
    refreshable: isRefreshable(provider, next, expiresAt),
    ...(isRecovery(stored.connection.refreshAttempts) ? { recovered: true as const } : {}),
  };
}

async function recordFailure(runtime: Runtime, input: RefreshInput, error: unknown): Promise<RefreshResult> {
  const broker = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'refresh failed');
  const now = runtime.clock.now();
  const at = now.toISOString();
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  // Transient failures are counted; once they have lasted the configured span, the user is needed again.
  const verdict = broker.transient
    ? afterRefreshFailure(stored?.connection.refreshAttempts, now, (runtime.settings.refreshFailureSpanSeconds ?? DEFAULT_REFRESH_FAILURE_SPAN_MS / 1000) * 1000)
    : undefined;
  const exhausted = verdict?.exhausted === true;
  const status: Connection['status'] =
    broker.transient && !exhausted ? 'connected' : exhausted || broker.code === 'OAUTH_INVALID_GRANT' ? 'reauth_required' : 'failed';
  const recorded = exhausted
    ? {
        code: 'REFRESH_EXHAUSTED' as const,
        message: `refreshes have failed since ${verdict.attempts.firstFailureAt} (${verdict.attempts.failures} attempts; last: ${broker.code})`,
        providerError: broker.providerError,
        at,
      }
    : { code: broker.code, message: broker.message, providerError: broker.providerError, at };
  if (stored) {
    await saveWithRetry(runtime, stored, (connection) =>
      connection.status !== 'refreshing' && connection.status !== 'connected'
        ? undefined
        : {
            next: { ...connection, status, updatedAt: at, error: recorded, refreshAttempts: verdict?.attempts },
            // The last good credentials stay after a transient failure (and after exhaustion, so a
            // revocation can still reach the provider); a dead grant's are erased.
            change: status === 'reauth_required' && !exhausted ? { credentials: null } : {},
          },
    );
  }
  if (broker.transient && !exhausted) return { outcome: 'transient', errorCode: broker.code, retryAfterSeconds: broker.retryAfterSeconds };
  return { outcome: status === 'reauth_required' ? 'reauth_required' : 'failed', errorCode: recorded.code };
}
