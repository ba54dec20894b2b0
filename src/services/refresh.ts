/**
 * Refresh activity. Only the connection's orchestration calls it, so refreshes of one connection
 * never run concurrently. The rotated refresh token is sealed into the row immediately after the
 * provider answers, before anything else can fail. Errors become outcomes (never thrown into durable
 * history): transient → keep the last good credentials and `connected`, invalid_grant →
 * `reauth_required`, other terminal errors → `failed`.
 */
import type { Connection } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import { isRefreshable } from '../domain/refresh-policy';
import { refreshAccessToken } from '../oauth/oauth2/client';
import type { RefreshResult } from '../durable/contract';
import type { OAuth2Credentials } from '../storage/credentials';
import { expiryOf } from './exchange';
import { oauth2Client } from './provider-clients';
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
  let scopes: string[];
  try {
    const tokens = await refreshAccessToken({
      ...(await oauth2Client(runtime, provider)),
      tokenUrl: provider.tokenUrl,
      refreshToken: credentials.refreshToken,
      tokenParams: provider.tokenParams,
      requestedScopes: stored.connection.scopes,
      scopeSeparator: provider.scopeSeparator,
    }, { send: runtime.http.send });
    next = {
      protocol: 'oauth2',
      accessToken: tokens.accessToken,
      tokenType: tokens.tokenType,
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
      ...(tokens.idToken ? { idToken: tokens.idToken } : credentials.idToken ? { idToken: credentials.idToken } : {}),
    };
    expiresAt = expiryOf(now, tokens.expiresIn, tokens.refreshToken !== undefined && provider.refreshable !== false, provider.expiresInFallbackSeconds);
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
  };
}

async function recordFailure(runtime: Runtime, input: RefreshInput, error: unknown): Promise<RefreshResult> {
  const broker = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'refresh failed');
  const status: Connection['status'] = broker.transient ? 'connected' : broker.code === 'OAUTH_INVALID_GRANT' ? 'reauth_required' : 'failed';
  const at = runtime.clock.now().toISOString();
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  if (stored) {
    await saveWithRetry(runtime, stored, (connection) =>
      connection.status !== 'refreshing' && connection.status !== 'connected'
        ? undefined
        : {
            next: {
              ...connection,
              status,
              updatedAt: at,
              error: { code: broker.code, message: broker.message, providerError: broker.providerError, at },
            },
            // The last good credentials stay usable after a transient failure; a dead grant's are erased.
            change: status === 'reauth_required' ? { credentials: null } : {},
          },
    );
  }
  if (broker.transient) return { outcome: 'transient', errorCode: broker.code, retryAfterSeconds: broker.retryAfterSeconds };
  return { outcome: status === 'reauth_required' ? 'reauth_required' : 'failed', errorCode: broker.code };
}
