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
import type { RowWatch } from '../storage/connection-writes';
import type { StoredConnection } from '../storage/connections-repo';
import type { CallbackSecrets } from '../storage/credentials';
import { authorizationIdForRequestToken, authorizationIdForState } from './begin-authorization';
import { issueCompletionCode } from './complete-connection';
import type { ProviderDefinition } from '../providers/types';
import type { OAuth2ProviderDefinition, Runtime } from './runtime';
import { waitForConnection, type WaitOptions } from './wait-for-connection';

export type CallbackAnswer =
  | { kind: 'redirect'; location: string; connectionId: string; status: ConnectionStatus }
  | { kind: 'page'; connectionId: string; status: ConnectionStatus };

export const CALLBACK_TIMINGS = {
  /** How long to wait for the exchange before answering (the contract says "a few seconds"). */
  settleWaitMs: 8_000,
  pollIntervalMs: 100,
  /** How long to keep retrying raiseEvent while the instance is not ready yet. */
  raiseRetryMs: 15_000,
  /** While waiting for the exchange, raise the callback again this often in case it was dropped. */
  reraiseEveryMs: 1_000,
} as const;

interface Received {
  authorizationId: string;
  outcome: CallbackEvent['outcome'];
  fingerprint: string;
  secrets?: CallbackSecrets;
  error?: string;
  errorDescription?: string;
  /** RFC 9207 `iss`, when the response carried one. */
  issuer?: string;
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
  // Watching from before the row is read, the wait for the exchange starts from that read.
  const watch = runtime.connectionWrites?.watch(attempt.clientId, attempt.connectionId);
  try {
    return await settle(runtime, provider, received, attempt, watch);
  } finally {
    watch?.stop();
  }
}

async function settle(runtime: Runtime, provider: ProviderDefinition, received: Received, attempt: AuthorizationAttempt, watch: RowWatch | undefined): Promise<CallbackAnswer> {
  const stored = await runtime.connections.get(attempt.clientId, attempt.connectionId);
  if (!stored || stored.connection.authorizationId !== attempt.authorizationId) {
    throw new BrokerError('STATE_INVALID', 'this authorization attempt is no longer current');
  }
  if (provider.protocol === 'oauth2') assertIssuer(provider, received.issuer);

  // Its `authorized` event is the exchange's to write (with `exchanged`, one request); a denial is
  // recorded when the orchestration settles it (mark-outcome).
  const receivedAt = await recordOrMatch(runtime, attempt, received);

  // Raise (again) while the connection still waits: a crash between persisting and raising must
  // not lose the callback, and a second raise is ignored by an orchestration that moved on.
  const event: CallbackEvent = { authorizationId: attempt.authorizationId, outcome: received.outcome };
  if (stored.connection.status === 'awaiting_callback') await raiseWithRetry(runtime, stored.connection.instanceId, event);

  const settled = await waitForSettled(runtime, attempt, receivedAt, event, watch && { watch, stored });
  // Only once the exchange succeeded: a forged callback the provider refuses must not take the code.
  const completionCode = settled.status === 'awaiting_confirmation' ? await issueCompletionCode(runtime, attempt) : undefined;
  return answer(attempt, settled, received, completionCode);
}

/**
 * Records the callback, or recognises it as the one already recorded (a duplicate is answered as the
 * first was). A different one while another waits for its exchange waits for that exchange: if the
 * provider refuses the first (a forgery) it is released and this one is recorded. Answers the time
 * the recorded callback was received.
 */
async function recordOrMatch(runtime: Runtime, first: AuthorizationAttempt, received: Received): Promise<string> {
  if (first.rejectedFingerprints.some((f) => timingSafeEqualString(f, received.fingerprint))) {
    throw new BrokerError('CALLBACK_REJECTED', 'the provider refused this authorization response');
  }
  const deadline = runtime.clock.now().getTime() + CALLBACK_TIMINGS.settleWaitMs;
  let attempt: AuthorizationAttempt | undefined = first;
  for (let delay = 10; attempt; delay = Math.min(Math.ceil(delay * 1.5), CALLBACK_TIMINGS.pollIntervalMs)) {
    if (attempt.callback) {
      if (timingSafeEqualString(attempt.callback.fingerprint, received.fingerprint)) return attempt.callback.receivedAt;
      // Another callback is recorded: a replay once it was exchanged, otherwise wait for its outcome.
      if (attempt.exchangedAt || attempt.settledAt || attempt.callback.outcome === 'denied' || runtime.clock.now().getTime() >= deadline) {
        throw new BrokerError('STATE_INVALID', 'this authorization response was already used');
      }
      await runtime.clock.sleep(delay);
    } else {
      if (Date.parse(attempt.expiresAt) <= runtime.clock.now().getTime()) {
        throw new BrokerError('STATE_EXPIRED', 'the authorization request has expired');
      }
      if (attempt.settledAt) throw new BrokerError('STATE_INVALID', 'this authorization attempt is no longer current');
      const callback = {
        outcome: received.outcome,
        fingerprint: received.fingerprint,
        error: received.error,
        errorDescription: received.errorDescription,
        receivedAt: runtime.clock.now().toISOString(),
      };
      if ((await runtime.authorizations.recordCallback(attempt, callback, received.secrets)) === 'recorded') return callback.receivedAt;
    }
    attempt = await runtime.authorizations.get(first.authorizationId);
  }
  throw new BrokerError('STATE_INVALID', 'this authorization attempt is no longer current');
}

/**
 * Mix-up defence (RFC 9207 §2.4): a response naming another issuer was meant for another
 * authorization server, and one without `iss` from a provider that always sends it is refused too.
 * Nothing is recorded, so the connection keeps waiting for its genuine callback.
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
function assertIssuer(provider: OAuth2ProviderDefinition, issuer: string | undefined): void {
  if (issuer === undefined) {
    if (provider.authorizationResponseIssRequired) throw new BrokerError('ISSUER_MISMATCH', 'the authorization response carries no iss parameter, which this provider always sends');
    return;
  }
  // RFC 9207 §2.4: simple string comparison (RFC 3986 §6.2.1), no normalisation.
  if (provider.issuer !== undefined && issuer !== provider.issuer) {
    throw new BrokerError('ISSUER_MISMATCH', 'the authorization response names another issuer than this provider');
  }
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
      issuer: response.issuer,
    };
  }
  return { authorizationId, outcome: 'code', fingerprint: hashState(`code:${response.code}`), secrets: { code: response.code }, issuer: response.issuer };
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

/**
 * The status the connection reached, or the one it still has when the exchange takes longer. A
 * callback the provider refused (recorded on the row after `receivedAt`) is answered with a 400.
 */
async function waitForSettled(
  runtime: Runtime,
  attempt: AuthorizationAttempt,
  receivedAt: string,
  event: CallbackEvent,
  from: WaitOptions['from'],
): Promise<Settled> {
  const refused = (row: StoredConnection) =>
    row.connection.status === 'awaiting_callback' && row.connection.error?.code === 'CALLBACK_REJECTED' && row.connection.error.at >= receivedAt;
  let lastRaiseMs = runtime.clock.now().getTime();
  // A merge is settled once the holder took the credentials (the merged row's copy is then erased).
  const merging = (row: StoredConnection) => row.connection.status === 'merged' && row.sealedCredentials !== undefined;
  const { stored } = await waitForConnection(runtime, attempt, (row) => !row || (isSettled(row.connection.status) && !merging(row)) || refused(row), {
    timeoutMs: CALLBACK_TIMINGS.settleWaitMs,
    maxPollMs: CALLBACK_TIMINGS.pollIntervalMs,
    from,
    // An event delivered to a generation that then continues as new is dropped (as on Azure), e.g.
    // this callback raised while the exchange of a refused one ran: raise again until it is taken.
    beforeRead: async () => {
      if (runtime.clock.now().getTime() - lastRaiseMs < CALLBACK_TIMINGS.reraiseEveryMs) return;
      lastRaiseMs = runtime.clock.now().getTime();
      await raiseConnectionEvent(runtime.durable, attempt.instanceId, Events.Callback, event).catch(() => undefined);
    },
  });
  if (stored && refused(stored)) throw new BrokerError('CALLBACK_REJECTED', 'the provider refused this authorization response');
  const status = stored?.connection.status ?? 'failed';
  // The account was already connected (onExistingAccount "update"): the answer names the connection holding it.
  if (status === 'merged' && stored?.connection.mergedInto && !merging(stored)) {
    return { status: 'connected', connectionId: stored.connection.mergedInto, mergedFrom: attempt.connectionId };
  }
  return { status, connectionId: attempt.connectionId };
}

interface Settled {
  status: ConnectionStatus;
  connectionId: string;
  /** Set when the credentials went onto `connectionId`, an earlier connection of the same account. */
  mergedFrom?: string;
}

function answer(attempt: AuthorizationAttempt, settled: Settled, received: Received, completionCode?: string): CallbackAnswer {
  const { status, connectionId } = settled;
  if (attempt.returnTo) {
    const url = new URL(attempt.returnTo);
    url.searchParams.set('connectionId', connectionId);
    url.searchParams.set('status', status);
    if (settled.mergedFrom) url.searchParams.set('mergedFrom', settled.mergedFrom);
    if (completionCode) url.searchParams.set('completionCode', completionCode);
    if (status === 'denied' && received.error) url.searchParams.set('error', received.error);
    return { kind: 'redirect', location: url.toString(), connectionId, status };
  }
  return { kind: 'page', connectionId, status };
}
