/**
 * Exchange activity: turns the recorded callback into credentials. Reads the sealed pending row,
 * calls the token endpoint, seals the credentials into the connection row, and returns references
 * only. Transient provider failures are thrown (the orchestration retries them); terminal ones mark
 * the connection `failed` and are returned as an outcome.
 */
import type { Connection } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import { DEFAULT_EXPIRES_IN_FALLBACK_S } from '../domain/refresh-policy';
import { obtainTokenCredentials } from '../oauth/oauth1/access-token';
import { exchangeCode } from '../oauth/oauth2/client';
import type { ExchangeResult } from '../orchestrations/connection-types';
import type { Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import { oauth1Client, oauth2Client } from './provider-clients';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export interface ExchangeInput {
  connectionId: string;
  clientId: string;
  authorizationId: string;
}

export async function exchangeCredentials(runtime: Runtime, input: ExchangeInput): Promise<ExchangeResult> {
  const stored = await runtime.connections.require(input.clientId, input.connectionId);
  const attempt = await runtime.authorizations.get(input.authorizationId);
  if (stored.connection.authorizationId !== input.authorizationId || !attempt) return stale(stored);
  // At-least-once: a re-run after a successful exchange answers from the row, never reuses the code.
  if (attempt.exchangedAt && stored.connection.status === 'connected') return resultFrom(stored, 'connected');
  if (stored.connection.status !== 'awaiting_callback') return stale(stored);

  const provider = runtime.provider(stored.connection.provider);
  const secrets = await runtime.authorizations.openSecrets(attempt);
  const callback = await runtime.authorizations.openCallback(attempt);
  const now = runtime.now();

  let credentials: Credentials;
  let scopes = secrets.scopes;
  let expiresAt: string | null = null;
  try {
    if (provider.protocol === 'oauth2') {
      if (!callback?.code) throw new BrokerError('CALLBACK_INVALID', 'no authorization code was recorded');
      const tokens = await exchangeCode({
        ...(await oauth2Client(runtime, provider)),
        tokenUrl: provider.tokenUrl,
        redirectUri: secrets.redirectUri,
        code: callback.code,
        codeVerifier: secrets.codeVerifier,
        tokenParams: provider.tokenParams,
        requestedScopes: secrets.scopes,
        scopeSeparator: provider.scopeSeparator,
      });
      credentials = {
        protocol: 'oauth2',
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        ...(tokens.idToken ? { idToken: tokens.idToken } : {}),
      };
      scopes = tokens.scopes;
      expiresAt = expiryOf(now, tokens.expiresIn, tokens.refreshToken !== undefined, provider.expiresInFallbackSeconds);
    } else {
      if (!callback?.oauthVerifier || !secrets.requestToken || secrets.requestTokenSecret === undefined) {
        throw new BrokerError('CALLBACK_INVALID', 'no oauth_verifier was recorded');
      }
      const issued = await obtainTokenCredentials({
        client: await oauth1Client(runtime, provider),
        accessTokenUrl: provider.accessTokenUrl,
        temporaryCredentials: { token: secrets.requestToken, tokenSecret: secrets.requestTokenSecret },
        verifier: callback.oauthVerifier,
      });
      credentials = { protocol: 'oauth1', oauthToken: issued.token, oauthTokenSecret: issued.tokenSecret };
    }
  } catch (error) {
    if (isBrokerError(error) && error.transient) throw error;
    await markFailed(runtime, stored, error);
    return { ...resultFrom(stored, 'failed') };
  }

  const nowIso = now.toISOString();
  const saved = await saveWithRetry(runtime, stored, (connection) => {
    if (connection.authorizationId !== input.authorizationId || connection.status !== 'awaiting_callback') return undefined;
    return {
      next: {
        ...connection,
        status: 'connected',
        scopes,
        expiresAt,
        lastRefreshedAt: null,
        updatedAt: nowIso,
        credentialsVersion: connection.credentialsVersion + 1,
        authorizationExpiresAt: undefined,
        error: undefined,
      },
      change: { credentials, issuedAt: nowIso },
    };
  });
  if (!saved) return stale(stored);
  await runtime.authorizations.markExchanged(attempt, nowIso);
  return { ...resultFrom(saved, 'connected'), webhooks: runtime.hasWebhook(input.clientId) };
}

/** Expiry per the documented fallback: no `expires_in` + a refresh token → assume the provider's (or 1 h) lifetime. */
export function expiryOf(now: Date, expiresIn: number | undefined, hasRefreshToken: boolean, fallbackSeconds?: number): string | null {
  if (expiresIn !== undefined) return new Date(now.getTime() + expiresIn * 1000).toISOString();
  if (!hasRefreshToken) return null;
  return new Date(now.getTime() + (fallbackSeconds ?? DEFAULT_EXPIRES_IN_FALLBACK_S) * 1000).toISOString();
}

function resultFrom(stored: StoredConnection, outcome: ExchangeResult['outcome']): ExchangeResult {
  const c = stored.connection;
  return {
    outcome,
    credentialsVersion: c.credentialsVersion,
    issuedAt: stored.issuedAt ?? c.updatedAt,
    expiresAt: c.expiresAt,
    refreshable: c.protocol === 'oauth2' && c.expiresAt !== null,
    scopes: c.scopes,
  };
}

function stale(stored: StoredConnection): ExchangeResult {
  return resultFrom(stored, 'stale');
}

async function markFailed(runtime: Runtime, stored: StoredConnection, error: unknown): Promise<void> {
  const broker = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'token exchange failed');
  const at = runtime.now().toISOString();
  await saveWithRetry(runtime, stored, (connection: Connection) =>
    connection.status !== 'awaiting_callback'
      ? undefined
      : {
          next: {
            ...connection,
            status: 'failed',
            updatedAt: at,
            error: { code: broker.code, message: broker.message, providerError: broker.providerError, at },
          },
          change: {},
        },
  );
}
