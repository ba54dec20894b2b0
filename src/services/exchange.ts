/**
 * Exchange activity: turns the recorded callback into credentials. Reads the sealed pending row,
 * calls the token endpoint, seals the credentials into the connection row, and returns references
 * only. Transient provider failures are thrown (the orchestration retries them); terminal ones mark
 * the connection `failed` and are returned as an outcome.
 */
import { connectedStatus, type Connection, type ExpirySource, type UpstreamAccount } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import { isRefreshable, watchdogDueAt } from '../domain/refresh-policy';
import { obtainTokenCredentials } from '../oauth/oauth1/access-token';
import { fetchAccountInfo } from '../oauth/oauth2/account-info';
import { exchangeCode, type CodeExchangeResult } from '../oauth/oauth2/client';
import { pollDeviceToken } from '../oauth/oauth2/device';
import { dpopTokenOptions } from '../oauth/oauth2/dpop';
import { expectsIdToken, idTokenCheck, providerServer, withRediscovery } from '../oauth/oauth2/endpoints';
import { validateIdToken } from '../oauth/oauth2/id-token';
import type { DevicePollResult, ExchangeResult } from '../durable/contract';
import type { AuditEventInput } from './audit-trail';
import type { ProviderDefinition } from '../providers/types';
import type { Credentials } from '../storage/credentials';
import type { AuthorizationAttempt } from '../storage/authorizations-repo';
import type { StoredConnection } from '../storage/connections-repo';
import { oauth1Client, oauth2Client, tokenLifetimeOf } from './provider-clients';
import type { Runtime } from './runtime';
import { announceMergedHolder, completeMerge, findAccountHolder, markMerging, refreshableWith } from './merge-account';
import { revokeAtProvider } from './revoke';
import { saveWithRetry } from './save';

export interface ExchangeInput {
  connectionId: string;
  clientId: string;
  authorizationId: string;
}

/**
 * The `authorized` event of the callback this exchange redeems, written here rather than by the
 * callback: beside `exchanged` in one request when the exchange succeeds, on its own otherwise.
 */
interface PendingAuthorized {
  event?: AuditEventInput;
}

export async function exchangeCredentials(runtime: Runtime, input: ExchangeInput): Promise<ExchangeResult> {
  // An attempt with a callback never answers a device grant state.
  return (await obtainCredentials(runtime, input)) as ExchangeResult;
}

/**
 * Device authorization activity (RFC 8628 §3.4): one poll of the token endpoint with the sealed
 * device code. A grant state (pending, slow_down, denied, expired) is answered as such and changes
 * nothing; tokens are stored exactly as an exchange stores them.
 */
export async function pollDeviceAuthorization(runtime: Runtime, input: ExchangeInput): Promise<DevicePollResult> {
  return obtainCredentials(runtime, input);
}

async function obtainCredentials(runtime: Runtime, input: ExchangeInput): Promise<DevicePollResult> {
  const pending: PendingAuthorized = {};
  try {
    return await exchange(runtime, input, pending);
  } finally {
    if (pending.event) await runtime.audit.record(pending.event);
  }
}

async function exchange(runtime: Runtime, input: ExchangeInput, pending: PendingAuthorized): Promise<DevicePollResult> {
  const stored = await runtime.connections.require(input.clientId, input.connectionId);
  const attempt = await attemptToRedeem(runtime, input, stored);
  // A re-run after a recorded exchange recorded this event too (ids are deterministic anyway).
  if (attempt?.callback?.outcome === 'code' && !attempt.exchangedAt) {
    pending.event = { connectionId: attempt.connectionId, clientId: attempt.clientId, type: 'authorized', at: attempt.callback.receivedAt, about: attempt.authorizationId };
  }
  if (stored.connection.authorizationId !== input.authorizationId || !attempt) return stale(stored);
  // At-least-once: a re-run after a successful exchange answers from the row, never reuses the code.
  // The attempt names the provider: a reauthorization onto the successor moves the connection there.
  const provider = runtime.providers.get(attempt.provider);
  // Only this attempt's exchange makes a row that names it connected (a reauthorization names a new
  // attempt and waits again), so such a row holds the credentials this attempt's code brought.
  if (stored.connection.status === 'connected' || stored.connection.status === 'awaiting_confirmation') {
    const refreshable = isRefreshable(provider, await runtime.connections.openCredentials(stored), stored.connection.expiresAt);
    if (attempt.exchangedAt) return { ...resultFrom(stored, 'connected', refreshable), ...confirmation(runtime, stored.connection, attempt.exchangedAt) };
    // An earlier run stored the credentials but stopped before marking the attempt (a storage failure
    // after the save, or the activity run again): what followed the save is done now, and the
    // orchestration goes on to its refresh loop instead of ending as if another attempt had won.
    const moved = await retireHeldGrant(runtime, attempt);
    return announceConnected(runtime, input, attempt, stored, refreshable, stored.issuedAt ?? stored.connection.updatedAt, pending, moved);
  }
  if (stored.connection.status === 'merged' && stored.connection.authorizationId === input.authorizationId) return finishMerge(runtime, input, stored, attempt, pending);
  if (stored.connection.status !== 'awaiting_callback') return stale(stored);
  // Released after the provider refused it (a re-run of that exchange): the attempt still waits.
  const secrets = await runtime.authorizations.openSecrets(attempt);
  if (!attempt.callback && secrets.deviceCode === undefined) return resultFrom(stored, 'rejected', false);

  const callback = await runtime.authorizations.openCallback(attempt);
  const now = runtime.clock.now();
  const send = { send: runtime.http.send };

  let credentials: Credentials;
  let scopes = secrets.scopes;
  let expiresAt: string | null = null;
  let expiresAtSource: ExpirySource | undefined;
  let account: UpstreamAccount | undefined;
  try {
    if (provider.protocol === 'oauth2') {
      const client = await oauth2Client(runtime, provider);
      const server = await providerServer(provider, send, expectsIdToken(provider, secrets.scopes) ? ['jwksUrl'] : []);
      const dpop = await dpopTokenOptions(secrets.dpopKey, runtime.dpopNonces.for(provider.name), send);
      const deviceCode = secrets.deviceCode;
      if (deviceCode === undefined && !callback?.code) throw new BrokerError('CALLBACK_INVALID', 'no authorization code was recorded');
      const poll = deviceCode === undefined
        ? undefined
        : await withRediscovery(provider, server, () =>
            pollDeviceToken({ ...client, tokenUrl: server.tokenUrl, deviceCode, requestedScopes: secrets.scopes, scopeSeparator: provider.scopeSeparator }, dpop),
          );
      if (poll && poll.kind !== 'tokens') return { outcome: poll.kind };
      const idToken = idTokenCheck(provider, server, client.clientId, secrets.scopes, secrets.nonce);
      // A device grant's answer is checked here; the code exchange checks its own (`idToken` below).
      const tokens: CodeExchangeResult = poll
        ? { ...poll.tokens, ...(idToken ? { account: await validateIdToken(poll.tokens, idToken, dpop) } : {}) }
        : await withRediscovery(provider, server, () =>
        exchangeCode({
          ...client,
          tokenUrl: server.tokenUrl,
          redirectUri: secrets.redirectUri,
          code: callback?.code as string,
          codeVerifier: secrets.codeVerifier,
          tokenParams: provider.tokenParams,
          requestedScopes: secrets.scopes,
          scopeSeparator: provider.scopeSeparator,
          idToken,
        }, dpop),
      );
      credentials = {
        protocol: 'oauth2',
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        ...(tokens.idToken ? { idToken: tokens.idToken } : {}),
        // The tokens are bound to the key the code was redeemed with: it stays sealed beside them.
        ...(secrets.dpopKey ? { dpopKey: secrets.dpopKey } : {}),
      };
      scopes = tokens.scopes;
      account = tokens.account ?? (provider.accountInfo ? await fetchAccountInfo(provider.accountInfo, provider.issuer, tokens, send) : undefined);
      const lifetime = await tokenLifetimeOf(provider, server, client, tokens, now, send);
      expiresAt = lifetime.expiresAt;
      expiresAtSource = lifetime.source;
    } else {
      if (!callback?.oauthVerifier || !secrets.requestToken || secrets.requestTokenSecret === undefined) {
        throw new BrokerError('CALLBACK_INVALID', 'no oauth_verifier was recorded');
      }
      const issued = await obtainTokenCredentials({
        client: await oauth1Client(runtime, provider),
        accessTokenUrl: provider.accessTokenUrl,
        temporaryCredentials: { token: secrets.requestToken, tokenSecret: secrets.requestTokenSecret },
        verifier: callback.oauthVerifier,
      }, send);
      credentials = { protocol: 'oauth1', oauthToken: issued.token, oauthTokenSecret: issued.tokenSecret };
    }
  } catch (error) {
    if (isBrokerError(error) && error.transient) throw error;
    if (isBrokerError(error) && providerRefusedCallback(error, provider.protocol)) {
      await rejectCallback(runtime, stored, attempt, error);
      return resultFrom(stored, 'rejected', false);
    }
    await markFailed(runtime, stored, error);
    await runtime.authorizations.retire(attempt.authorizationId, runtime.clock.now().toISOString());
    return resultFrom(stored, 'failed', false);
  }

  const nowIso = now.toISOString();
  // A session-bound connection merges only once its client confirms (POST …/complete): until then
  // nothing of this grant may reach the holder.
  const holder = connectedStatus(stored.connection) === 'connected' ? await findAccountHolder(runtime, stored.connection, account) : undefined;
  if (holder && account) {
    const merging = await markMerging(runtime, stored, input.authorizationId, holder, { credentials, scopes, expiresAt, expiresAtSource, account, issuedAt: nowIso });
    return merging ? finishMerge(runtime, input, merging, attempt, pending) : stale(stored);
  }
  const moving = await movingFrom(runtime, stored, provider.name);
  // Held on the attempt until it settles: a run that stops after the save below leaves the old grant
  // for its re-run to revoke (the row no longer has it).
  if (moving?.credentials) await runtime.authorizations.holdRetiring(attempt, { provider: moving.from.name, credentials: moving.credentials });
  const refreshDueAt = watchdogDueAt(nowIso, expiresAt, isRefreshable(provider, credentials, expiresAt), runtime.settings.refreshMarginMs);
  const saved = await saveWithRetry(runtime, stored, (connection) => {
    if (connection.authorizationId !== input.authorizationId || connection.status !== 'awaiting_callback') return undefined;
    return {
      next: {
        ...connection,
        provider: provider.name,
        protocol: provider.protocol,
        refreshDueAt,
        status: connectedStatus(connection),
        scopes,
        expiresAt,
        expiresAtSource,
        // A reauthorization names the account anew (or no account, for a provider without OpenID Connect).
        account,
        refreshAttempts: undefined,
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
  // Only now that the successor's credentials are stored do the old provider's go.
  const moved = moving ? await retireGrant(runtime, moving.from, moving.credentials) : undefined;
  return announceConnected(runtime, input, attempt, saved, isRefreshable(provider, credentials, expiresAt), nowIso, pending, moved);
}

/**
 * The attempt as this process's callback recorded it saves reading it again, when the connection
 * row (always read afresh) still waits for this attempt's code with no refusal noted: whatever uses
 * or sets the code aside writes that row first (an exchange stores the credentials before it marks
 * the attempt exchanged; a refusal, a failure, a merge, a newer attempt, a revocation, expiry all
 * change it), so a code that brought tokens is never presented again on a stale copy. The attempt's
 * own later writes are ETag-conditional or erase only. Everything else reads the attempt afresh.
 */
async function attemptToRedeem(runtime: Runtime, input: ExchangeInput, stored: StoredConnection): Promise<AuthorizationAttempt | undefined> {
  const { connection } = stored;
  if (connection.authorizationId === input.authorizationId && connection.status === 'awaiting_callback' && !connection.error) {
    const recorded = await runtime.authorizations.lastRecorded(input.authorizationId, runtime.clock.now());
    if (recorded?.callback?.outcome === 'code' && !recorded.exchangedAt && !recorded.settledAt && recorded.sealedSecrets) return recorded;
  }
  return runtime.authorizations.get(input.authorizationId);
}

/** The exchange's credentials are on this connection's row: the attempt is done, the loop may start. */
async function announceConnected(
  runtime: Runtime,
  input: ExchangeInput,
  attempt: AuthorizationAttempt,
  saved: StoredConnection,
  refreshable: boolean,
  nowIso: string,
  pending: PendingAuthorized,
  moved?: Moved,
): Promise<ExchangeResult> {
  const { expiresAt, scopes, credentialsVersion } = saved.connection;
  const exchanged: AuditEventInput = {
    connectionId: input.connectionId,
    clientId: input.clientId,
    type: 'exchanged',
    at: nowIso,
    about: input.authorizationId,
    details: { credentialsVersion, expiresAt, scopes, refreshable, ...moved },
  };
  // Both events are in this connection's partition: one transaction.
  await runtime.audit.recordAll(pending.event ? [pending.event, exchanged] : [exchanged]);
  pending.event = undefined;
  // A reauthorization replaces the credentials: this process must not serve the old token.
  runtime.tokens.forget(input.clientId, input.connectionId);
  await runtime.authorizations.markExchanged(attempt, nowIso);
  return {
    ...resultFrom(saved, 'connected', refreshable),
    webhooks: runtime.webhooks.has(input.clientId),
    refreshMarginMs: runtime.settings.refreshMarginMs,
    ...confirmation(runtime, saved.connection, nowIso),
  };
}

/**
 * `onExistingAccount: "update"` found the account on another connection: the credentials move there
 * (also where a re-run of this activity resumes), and this connection's orchestration ends `merged`.
 */
async function finishMerge(runtime: Runtime, input: ExchangeInput, written: StoredConnection, attempt: AuthorizationAttempt, pending: PendingAuthorized): Promise<ExchangeResult> {
  // Read back: the sealed credentials are the row's, not the copy the write started from.
  const merging = (await runtime.connections.get(input.clientId, input.connectionId)) ?? written;
  const refreshMarginMs = runtime.settings.refreshMarginMs;
  const credentials = await runtime.connections.openCredentials(merging);
  const refreshable = refreshableWith(runtime, merging.connection, credentials);
  const outcome = await completeMerge(runtime, merging, refreshMarginMs);
  const at = merging.issuedAt ?? merging.connection.updatedAt;
  if (outcome.kind === 'gone') return stale(merging);
  if (outcome.kind === 'kept') return announceConnected(runtime, input, attempt, outcome.connection, refreshable, at, pending);
  const holder = outcome.holder;
  await announceMergedHolder(runtime, holder, merging.connection, at);
  await runtime.authorizations.markExchanged(attempt, at);
  // The orchestration announces the holder connected (its id is what the redirect names).
  return { ...resultFrom(merging, 'merged', false), mergedInto: holder.connection.connectionId, webhooks: runtime.webhooks.has(input.clientId) };
}

type Moved = { movedFrom: string; previousRevokedAtProvider: boolean };

async function retireGrant(runtime: Runtime, from: ProviderDefinition, credentials: Credentials | undefined): Promise<Moved> {
  const retired = await revokeAtProvider(runtime, from, credentials);
  return { movedFrom: from.name, previousRevokedAtProvider: retired.revoked };
}

/**
 * The grant an earlier run of this exchange held on the attempt before it stored the successor's
 * credentials, revoked now (again, if that run got as far: a second revocation is harmless). None
 * for an exchange that moved nothing, or whose old provider is no longer configured.
 */
async function retireHeldGrant(runtime: Runtime, attempt: AuthorizationAttempt): Promise<Moved | undefined> {
  const grant = await runtime.authorizations.openRetiring(attempt).catch(() => undefined);
  if (!grant || !runtime.providers.isConfigured(grant.provider)) return undefined;
  return retireGrant(runtime, runtime.providers.get(grant.provider), grant.credentials);
}

/** The provider the connection leaves, with its credentials, when this exchange moves it onto another. */
async function movingFrom(runtime: Runtime, stored: StoredConnection, to: string): Promise<{ from: ProviderDefinition; credentials: Credentials | undefined } | undefined> {
  if (stored.connection.provider === to) return undefined;
  return { from: runtime.providers.get(stored.connection.provider), credentials: await runtime.connections.openCredentials(stored).catch(() => undefined) };
}

/** A session-bound connection waits for POST …/complete for as long as an authorization may take. */
function confirmation(runtime: Runtime, connection: Connection, exchangedAt: string): Pick<ExchangeResult, 'confirmBy' | 'mergeOnConfirm'> {
  if (connection.status !== 'awaiting_confirmation') return {};
  return {
    confirmBy: new Date(Date.parse(exchangedAt) + runtime.settings.authorizationTimeoutSeconds * 1000).toISOString(),
    ...(connection.onExistingAccount === 'update' ? { mergeOnConfirm: true as const } : {}),
  };
}

/** OAuth 1.0a problems that name the broker's own configuration, not what the callback carried (RFC 5849 §3.2, oauth_problem). */
const CONSUMER_PROBLEMS = new Set(['consumer_key_unknown', 'consumer_key_rejected', 'consumer_key_refused', 'signature_method_rejected', 'signature_invalid', 'timestamp_refused', 'nonce_used']);

/**
 * Whether the provider refused the grant the callback carried (a wrong or replayed code, a forged
 * verifier) rather than the broker itself: OAuth 2.0 `invalid_grant` (RFC 6749 §5.2); OAuth 1.0a a
 * 400/401 refusal of the token request (RFC 5849 §2.3) that does not blame the consumer.
 */
function providerRefusedCallback(error: BrokerError, protocol: 'oauth1' | 'oauth2'): boolean {
  if (protocol === 'oauth2') return error.code === 'OAUTH_INVALID_GRANT';
  return (
    error.code === 'OAUTH_PROVIDER_ERROR' &&
    (error.providerStatus === 400 || error.providerStatus === 401) &&
    !CONSUMER_PROBLEMS.has(error.providerError ?? '')
  );
}

/**
 * Anyone who saw the authorization URL can send a callback with a made-up code or verifier, so a
 * refusal must not end the attempt: the callback is released (the genuine one can still complete it
 * before the deadline), its fingerprint remembered, and the row says why the last callback failed.
 */
async function rejectCallback(runtime: Runtime, stored: StoredConnection, attempt: AuthorizationAttempt, error: BrokerError): Promise<void> {
  const fingerprint = attempt.callback?.fingerprint;
  if (fingerprint) {
    let current: AuthorizationAttempt | undefined = attempt;
    while (current?.callback?.fingerprint === fingerprint && !(await runtime.authorizations.releaseCallback(current, fingerprint))) {
      current = await runtime.authorizations.get(attempt.authorizationId);
    }
  }
  const at = runtime.clock.now().toISOString();
  await saveWithRetry(runtime, stored, (connection: Connection) =>
    connection.status !== 'awaiting_callback' || connection.authorizationId !== attempt.authorizationId
      ? undefined
      : {
          next: {
            ...connection,
            updatedAt: at,
            error: { code: 'CALLBACK_REJECTED', message: `the provider refused the callback: ${error.message}`, providerError: error.providerError, at },
          },
          change: {},
        },
  );
}

function resultFrom(stored: StoredConnection, outcome: ExchangeResult['outcome'], refreshable: boolean): ExchangeResult {
  const c = stored.connection;
  return {
    outcome,
    credentialsVersion: c.credentialsVersion,
    issuedAt: stored.issuedAt ?? c.updatedAt,
    expiresAt: c.expiresAt,
    refreshable,
    scopes: c.scopes,
  };
}

/** Another attempt, a revocation or a finished exchange got there first: the orchestration stops. */
function stale(stored: StoredConnection): ExchangeResult {
  return resultFrom(stored, 'stale', false);
}

async function markFailed(runtime: Runtime, stored: StoredConnection, error: unknown): Promise<void> {
  const broker = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'token exchange failed');
  const at = runtime.clock.now().toISOString();
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
