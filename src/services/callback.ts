/**
 * GET /callback/{provider}. Finds the attempt from what the browser brings (state or oauth_token),
 * persists what it received (sealed) BEFORE raising the event, raises the event with a reference
 * only, and answers a duplicate the same way as the original. Unknown, expired, superseded or
 * replayed callbacks change nothing.
 */
import { hashState, timingSafeEqualString } from '../crypto/tokens';
import type { ConnectionStatus } from '../domain/connection';
import { isSettled } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { raiseConnectionEvent } from '../durable/client';
import type { CallbackEvent } from '../durable/contract';
import { Events } from '../durable/names';
import { parseOAuth1Callback } from '../oauth/oauth1/callback';
import { parseAuthorizationResponse } from '../oauth/oauth2/authorization-response';
import type { AuthorizationAttempt } from '../storage/authorizations-repo';
import type { CallbackSecrets } from '../storage/credentials';
import { authorizationIdForRequestToken, authorizationIdForState } from './begin-authorization';
import type { Runtime } from './runtime';
import { waitForConnection } from './wait-for-connection';

export type CallbackAnswer =
  | { kind: 'redirect'; location: string; connectionId: string; status: ConnectionStatus }
  | { kind: 'page'; connectionId: string; status: ConnectionStatus };

export const CALLBACK_TIMINGS = {
  /** How long to wait for the exchange before answering (the contract says "a few seconds"). */
  settleWaitMs: 8_000,
  pollIntervalMs: 100,
  /** How long to keep retrying raiseEvent while the instance is not ready yet. */
  raiseRetryMs: 15_000,
} as const;

interface Received {
  authorizationId: string;
  outcome: CallbackEvent['outcome'];
  fingerprint: string;
  secrets?: CallbackSecrets;
  error?: string;
  errorDescription?: string;
}

export async function handleCallback(runtime: Runtime, providerName: string, query: URLSearchParams): Promise<CallbackAnswer> {
  const provider = runtime.providers.get(providerName);
  const received = provider.protocol === 'oauth2' ? readOAuth2(query) : readOAuth1(query);

  const attempt = await runtime.authorizations.get(received.authorizationId);
  if (!attempt || attempt.provider !== provider.name) {
    throw new BrokerError(
      provider.protocol === 'oauth2' ? 'STATE_INVALID' : 'OAUTH_TOKEN_MISMATCH',
      provider.protocol === 'oauth2' ? 'unknown or already used state' : 'unknown oauth_token',
    );
  }
  const stored = await runtime.connections.get(attempt.clientId, attempt.connectionId);
  if (!stored || stored.connection.authorizationId !== attempt.authorizationId) {
    throw new BrokerError('STATE_INVALID', 'this authorization attempt is no longer current');
  }

  if (attempt.callback) {
    // A second arrival: the same callback is answered as the first was; anything else is a replay.
    if (!timingSafeEqualString(attempt.callback.fingerprint, received.fingerprint)) {
      throw new BrokerError('STATE_INVALID', 'this authorization response was already used');
    }
  } else {
    if (Date.parse(attempt.expiresAt) <= runtime.clock.now().getTime()) {
      throw new BrokerError('STATE_EXPIRED', 'the authorization request has expired');
    }
    const callback = {
      outcome: received.outcome,
      fingerprint: received.fingerprint,
      error: received.error,
      errorDescription: received.errorDescription,
      receivedAt: runtime.clock.now().toISOString(),
    };
    const written = await runtime.authorizations.recordCallback(attempt, callback, received.secrets);
    if (written === 'exists') {
      const again = await runtime.authorizations.get(attempt.authorizationId);
      if (!again?.callback || !timingSafeEqualString(again.callback.fingerprint, received.fingerprint)) {
        throw new BrokerError('STATE_INVALID', 'this authorization response was already used');
      }
    }
  }

  // Raise (again) while the connection still waits: a crash between persisting and raising must
  // not lose the callback, and a second raise is ignored by an orchestration that moved on.
  if (stored.connection.status === 'awaiting_callback') {
    const event: CallbackEvent = { authorizationId: attempt.authorizationId, outcome: received.outcome };
    await raiseWithRetry(runtime, attempt.connectionId, event);
  }

  const status = await waitForSettled(runtime, attempt);
  return answer(attempt, status, received);
}

function readOAuth2(query: URLSearchParams): Received {
  const response = parseAuthorizationResponse(query);
  if (!response.state) throw new BrokerError('CALLBACK_INVALID', 'the callback has no state parameter');
  const authorizationId = authorizationIdForState(response.state);
  if (response.kind === 'error') {
    return {
      authorizationId,
      outcome: 'denied',
      fingerprint: hashState(`error:${response.error}`),
      error: response.error,
      errorDescription: response.errorDescription,
    };
  }
  return { authorizationId, outcome: 'code', fingerprint: hashState(`code:${response.code}`), secrets: { code: response.code } };
}

function readOAuth1(query: URLSearchParams): Received {
  const result = parseOAuth1Callback(query);
  const authorizationId = authorizationIdForRequestToken(result.oauthToken);
  if (result.outcome === 'denied') {
    return { authorizationId, outcome: 'denied', fingerprint: hashState(`denied:${result.problem}`), error: 'access_denied', errorDescription: result.problem };
  }
  return {
    authorizationId,
    outcome: 'code',
    fingerprint: hashState(`verifier:${result.oauthVerifier}`),
    secrets: { oauthVerifier: result.oauthVerifier },
  };
}

async function raiseWithRetry(runtime: Runtime, instanceId: string, event: CallbackEvent): Promise<void> {
  const deadline = runtime.clock.now().getTime() + CALLBACK_TIMINGS.raiseRetryMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      await raiseConnectionEvent(runtime.durable, instanceId, Events.Callback, event);
      return;
    } catch (error) {
      // 404: the instance is not created yet (or its host is restarting); the callback is already
      // persisted, so waiting and retrying is safe.
      if (runtime.clock.now().getTime() + delay > deadline) {
        throw new BrokerError('STORAGE_UNAVAILABLE', 'the connection is not ready to take the callback yet; retry shortly', {
          cause: error,
          transient: true,
        });
      }
      await runtime.clock.sleep(delay);
    }
  }
}

/** The status the connection reached, or the one it still has when the exchange takes longer. */
async function waitForSettled(runtime: Runtime, attempt: AuthorizationAttempt): Promise<ConnectionStatus> {
  const { stored } = await waitForConnection(runtime, attempt, (row) => !row || isSettled(row.connection.status), {
    timeoutMs: CALLBACK_TIMINGS.settleWaitMs,
    maxPollMs: CALLBACK_TIMINGS.pollIntervalMs,
  });
  return stored?.connection.status ?? 'failed';
}

function answer(attempt: AuthorizationAttempt, status: ConnectionStatus, received: Received): CallbackAnswer {
  if (attempt.returnTo) {
    const url = new URL(attempt.returnTo);
    url.searchParams.set('connectionId', attempt.connectionId);
    url.searchParams.set('status', status);
    if (status === 'denied' && received.error) url.searchParams.set('error', received.error);
    return { kind: 'redirect', location: url.toString(), connectionId: attempt.connectionId, status };
  }
  return { kind: 'page', connectionId: attempt.connectionId, status };
}
