/**
 * Several accounts per provider and end user, in-process against Azurite: the account named by the
 * provider's user endpoint, and `onExistingAccount: "update"` under at-least-once activities (a
 * re-run, a run that stopped between its writes, a holder that changed in between), also when the
 * connection is session-bound and the merge waits for POST …/complete.
 */
import { Events, Orchestrations } from '../../src/durable/names';
import { exchangeCredentials, type ExchangeInput } from '../../src/services/exchange';
import { handleCallback } from '../../src/services/callback';
import { completeConnection, issueCompletionCode } from '../../src/services/complete-connection';
import { findAccountHolder, markConfirmedMerging, markMerging } from '../../src/services/merge-account';
import { codeChallengeS256 } from '../../src/oauth/oauth2/pkce';
import { hashState } from '../../src/crypto/tokens';
import { startConnection } from '../../src/services/start-connection';
import { saveWithRetry } from '../../src/services/save';
import type { StoredConnection } from '../../src/storage/connections-repo';
import { sweep, WATCHDOG } from '../../src/services/watchdog';
import { CLIENT, rejection, running, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();

/** The canned answer serves the token endpoint and the user endpoint alike. */
const grant = (accessToken: string, userId: string | number = 'u-1') =>
  tokenAnswer({ access_token: accessToken, token_type: 'bearer', expires_in: 3600, refresh_token: `rt-${accessToken}`, user: { id: userId, name: 'Octo Cat' } });

async function recordedCallback(
  world: World,
  body: { endUserId?: string; onExistingAccount?: 'add' | 'update'; bindingChallenge?: string; returnTo?: string } = {},
): Promise<ExchangeInput> {
  const started = await startConnection(world.runtime, CLIENT, { provider: 'withuser', endUserId: 'end-user-1', ...body });
  const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
  await handleCallback(world.runtime, 'withuser', new URLSearchParams({ code: `code-${started.connectionId}`, state }));
  const { connection } = await world.runtime.connections.require(CLIENT, started.connectionId);
  return { connectionId: connection.connectionId, clientId: CLIENT, authorizationId: connection.authorizationId ?? '' };
}

async function connected(world: World, accessToken: string, userId: string | number = 'u-1'): Promise<ExchangeInput> {
  world.provider.answerWith(grant(accessToken, userId));
  const input = await recordedCallback(world);
  expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected' });
  return input;
}

/** The verifier the client keeps in its user's session. */
const VERIFIER = 'session-verifier-'.padEnd(43, 'v');

/**
 * A session-bound "update" of the account `u-1` whose exchange ran: awaiting confirmation, with the
 * completion code the browser would bring back.
 */
async function boundExchanged(world: World, accessToken: string): Promise<{ input: ExchangeInput; completionCode: string }> {
  world.provider.answerWith(grant(accessToken));
  const input = await recordedCallback(world, { onExistingAccount: 'update', bindingChallenge: codeChallengeS256(VERIFIER), returnTo: 'https://app.example/done' });
  expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', confirmBy: expect.any(String), mergeOnConfirm: true });
  const attempt = await world.runtime.authorizations.get(input.authorizationId);
  const completionCode = await issueCompletionCode(world.runtime, attempt!);
  return { input, completionCode: completionCode! };
}

async function accessTokenOf(world: World, connectionId: string): Promise<string | undefined> {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  const credentials = await world.runtime.connections.openCredentials(stored);
  return credentials?.protocol === 'oauth2' ? credentials.accessToken : undefined;
}

/**
 * An "update" of the account `u-1` whose exchange stopped right after recording the merge: the new
 * row keeps the grant of `accessToken` (issued at `issuedAt`, default just now) for the holder.
 */
async function mergeRecorded(world: World, accessToken: string, issuedAt?: (holder: StoredConnection) => string) {
  const holder = await connected(world, 'at-1');
  world.provider.answerWith(grant('at-2'));
  const input = await recordedCallback(world, { onExistingAccount: 'update' });
  const stored = await world.runtime.connections.require(CLIENT, input.connectionId);
  const found = await findAccountHolder(world.runtime, stored.connection, { issuer: world.provider.origin, subject: 'u-1' });
  expect(found?.connection.connectionId).toBe(holder.connectionId);
  await markMerging(world.runtime, stored, input.authorizationId, found!, {
    credentials: { protocol: 'oauth2', accessToken, tokenType: 'Bearer', refreshToken: `rt-${accessToken}` },
    scopes: ['read'],
    expiresAt: new Date(world.clock.ms + 3600_000).toISOString(),
    account: { issuer: world.provider.origin, subject: 'u-1' },
    issuedAt: issuedAt ? issuedAt(found!) : new Date(world.clock.ms + 1).toISOString(),
  });
  return { holder, input, stored, found: found! };
}

describe('accounts', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the provider has a user endpoint, then it is asked once with the new token and names the account (numeric ids as strings)', async () => {
    const input = await connected(world, 'at-1', 42);
    const user = world.provider.takeRequests().filter((r) => r.target === '/api/user');
    expect(user).toHaveLength(1);
    expect(user[0].headers.authorization).toBe('Bearer at-1');
    const { connection } = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(connection.account).toEqual({ issuer: world.provider.origin, subject: '42', displayName: 'Octo Cat' });
  });

  it('when the user endpoint names no subject, then the connection connects without an account', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected' });
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).connection.account).toBeUndefined();
  });

  it('when "update" finds the account, then the holder gets the tokens once, its loop is nudged, and a re-run sends nothing and changes nothing', async () => {
    const holder = await connected(world, 'at-1');
    const holderRow = await world.runtime.connections.require(CLIENT, holder.connectionId);
    running(world, holderRow.connection.instanceId);
    world.provider.answerWith(grant('at-2'));
    const input = await recordedCallback(world, { onExistingAccount: 'update' });
    world.provider.takeRequests();

    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(tokenRequests(world)).toHaveLength(1);
    const after = await world.runtime.connections.require(CLIENT, holder.connectionId);
    expect(after.connection).toMatchObject({ status: 'connected', credentialsVersion: holderRow.connection.credentialsVersion + 1 });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-2');
    const merged = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(merged.connection).toMatchObject({ status: 'merged', mergedInto: holder.connectionId });
    expect(merged.sealedCredentials).toBeUndefined();
    expect(world.durable.raisedOf(Events.Refresh)).toEqual([
      { instanceId: holderRow.connection.instanceId, event: Events.Refresh, payload: { seenVersion: holderRow.connection.credentialsVersion } },
    ]);

    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(tokenRequests(world)).toEqual([]);
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).connection.credentialsVersion).toBe(after.connection.credentialsVersion);
  });

  it('when the holder is not running (reauth_required), then the merge makes it connected and starts its maintain phase', async () => {
    const holder = await connected(world, 'at-1');
    const holderRow = await world.runtime.connections.require(CLIENT, holder.connectionId);
    await saveWithRetry(world.runtime, holderRow, (c) => ({ next: { ...c, status: 'reauth_required' }, change: { credentials: null } }));
    // A refresh that ended in reauth_required ends the orchestration too.
    world.durable.stop(holderRow.connection.instanceId);
    world.provider.answerWith(grant('at-2'));
    const input = await recordedCallback(world, { onExistingAccount: 'update' });
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged' });
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).connection.status).toBe('connected');
    expect(world.durable.started.filter((s) => s.instanceId === holderRow.connection.instanceId && (s.input as { phase: string }).phase === 'maintain')).toEqual([
      { name: Orchestrations.Connection, instanceId: holderRow.connection.instanceId, input: expect.objectContaining({ phase: 'maintain', connectionId: holder.connectionId }) },
    ]);
  });

  it('when a run stopped after recording the merge, then the next run moves the kept credentials without calling the provider', async () => {
    const { holder, input } = await mergeRecorded(world, 'at-kept');
    world.provider.takeRequests();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(world.provider.takeRequests()).toEqual([]);
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-kept');
  });

  it('when the orchestration stopped after the merge was recorded, then the watchdog moves the kept credentials onto the holder, once', async () => {
    const { holder, input, stored, found } = await mergeRecorded(world, 'at-stranded');
    // The exchange failed through its retries: the orchestration is over, the row still keeps the grant.
    const instanceId = stored.connection.instanceId;
    await world.durable.terminate(instanceId);
    world.clock.advance(WATCHDOG.minimumAgeMs + 1000);
    world.provider.takeRequests();

    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 1, mergesFinished: 1, failures: 0 });
    expect(world.provider.takeRequests()).toEqual([]);
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-stranded');
    const merged = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(merged.connection).toMatchObject({ status: 'merged', mergedInto: holder.connectionId });
    expect(await world.runtime.connections.openCredentials(merged)).toBeUndefined();
    // The holder's loop was told of its new credentials.
    expect(world.durable.raised.some((r) => r.instanceId === found!.connection.instanceId && r.event === Events.Refresh)).toBe(true);

    expect(await sweep(world.runtime)).toMatchObject({ stoppedInstances: 0, mergesFinished: 0, failures: 0 });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-stranded');
  });

  it('when the holder was revoked in between, then the new connection stands on its own', async () => {
    const { holder, input, found } = await mergeRecorded(world, 'at-own');
    await saveWithRetry(world.runtime, found!, (c) => ({ next: { ...c, status: 'revoked' }, change: { credentials: null } }));
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', refreshable: true });
    const own = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(own.connection.status).toBe('connected');
    expect(own.connection.mergedInto).toBeUndefined();
    expect(await accessTokenOf(world, input.connectionId)).toBe('at-own');
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).connection.status).toBe('revoked');
  });

  it('when the holder took newer credentials since (a refresh after the merge), then a re-run leaves them alone', async () => {
    // The grant is older than what the holder holds now.
    const { holder, input } = await mergeRecorded(world, 'at-stale', (h) => new Date(Date.parse(h.issuedAt ?? '') - 1000).toISOString());
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged' });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-1');
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).sealedCredentials).toBeUndefined();
  });

  it('when a session-bound "update" finds the account, then nothing reaches the holder before the completion, which moves the credentials and answers the holder', async () => {
    const holder = await connected(world, 'at-1');
    const holderBefore = await world.runtime.connections.require(CLIENT, holder.connectionId);
    running(world, holderBefore.connection.instanceId);
    const { input, completionCode } = await boundExchanged(world, 'at-2');
    // The exchange kept the grant on its own row: the holder's row was not written at all.
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).etag).toBe(holderBefore.etag);
    expect(await accessTokenOf(world, input.connectionId)).toBe('at-2');
    expect(world.durable.raisedOf(Events.Refresh)).toEqual([]);

    const answer = await completeConnection(world.runtime, CLIENT, input.connectionId, { completionCode, bindingVerifier: VERIFIER });
    expect(answer).toMatchObject({ connectionId: holder.connectionId, status: 'connected', mergedFrom: input.connectionId });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-2');
    const holderAfter = await world.runtime.connections.require(CLIENT, holder.connectionId);
    expect(holderAfter.connection.credentialsVersion).toBe(holderBefore.connection.credentialsVersion + 1);
    const merged = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(merged.connection).toMatchObject({ status: 'merged', mergedInto: holder.connectionId, binding: { completedAt: expect.any(String) } });
    expect(merged.sealedCredentials).toBeUndefined();
    // Told of the confirmation (re-raised until it acknowledges, which this fake orchestration never does).
    expect(new Set(world.durable.raisedOf(Events.Complete).map((r) => r.instanceId))).toEqual(new Set([merged.connection.instanceId]));

    // The orchestration asks the exchange again after the confirmation: it finishes, writing nothing more.
    world.provider.takeRequests();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(world.provider.takeRequests()).toEqual([]);
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).etag).toBe(holderAfter.etag);
    expect(world.durable.raisedOf(Events.Refresh).map((r) => r.instanceId)).toEqual([holderBefore.connection.instanceId]);

    // A second completion is refused; only the merged connection (holding nothing) is revoked.
    expect((await rejection(completeConnection(world.runtime, CLIENT, input.connectionId, { completionCode, bindingVerifier: VERIFIER }))).code).toBe('BINDING_REJECTED');
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-2');
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).connection.status).toBe('connected');
  });

  it('when a session-bound "update" is completed with a wrong verifier, then the holder is left exactly as it was and the new credentials are erased', async () => {
    const holder = await connected(world, 'at-1');
    const holderBefore = await world.runtime.connections.require(CLIENT, holder.connectionId);
    const { input, completionCode } = await boundExchanged(world, 'at-2');

    const refused = await rejection(completeConnection(world.runtime, CLIENT, input.connectionId, { completionCode, bindingVerifier: 'another-session-'.padEnd(43, 'x') }));
    expect(refused.code).toBe('BINDING_REJECTED');
    const holderAfter = await world.runtime.connections.require(CLIENT, holder.connectionId);
    expect(holderAfter.etag).toBe(holderBefore.etag);
    expect(holderAfter.sealedCredentials).toEqual(holderBefore.sealedCredentials);
    const refusedRow = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(refusedRow.connection).toMatchObject({ status: 'revoked', error: { code: 'BINDING_REJECTED' } });
    expect(refusedRow.connection.mergedInto).toBeUndefined();
    expect(refusedRow.sealedCredentials).toBeUndefined();
    // The orchestration's exchange, asked again, finds nothing to merge.
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'stale' });
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).etag).toBe(holderBefore.etag);
  });

  it('when a completion stopped after recording the merge, then the exchange asked again by the orchestration moves the credentials', async () => {
    const holder = await connected(world, 'at-1');
    const { input, completionCode } = await boundExchanged(world, 'at-2');
    const stored = await world.runtime.connections.require(CLIENT, input.connectionId);
    const found = await findAccountHolder(world.runtime, stored.connection, stored.connection.account);
    expect(found?.connection.connectionId).toBe(holder.connectionId);
    expect(await markConfirmedMerging(world.runtime, stored, hashState(completionCode), found!, world.clock.now().toISOString())).toBeDefined();
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-1');

    world.provider.takeRequests();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(world.provider.takeRequests()).toEqual([]);
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-2');
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).sealedCredentials).toBeUndefined();
  });

  it('when the holder refreshed while the confirmation was pending, then the confirmed grant still goes onto it', async () => {
    const holder = await connected(world, 'at-1');
    const { input, completionCode } = await boundExchanged(world, 'at-2');
    world.clock.advance(60_000);
    const holderRow = await world.runtime.connections.require(CLIENT, holder.connectionId);
    const refreshedAt = world.clock.now().toISOString();
    await saveWithRetry(world.runtime, holderRow, (c) => ({
      next: { ...c, updatedAt: refreshedAt, credentialsVersion: c.credentialsVersion + 1 },
      change: { credentials: { protocol: 'oauth2', accessToken: 'at-1-refreshed', tokenType: 'Bearer', refreshToken: 'rt-1' }, issuedAt: refreshedAt },
    }));
    world.clock.advance(1_000);
    const answer = await completeConnection(world.runtime, CLIENT, input.connectionId, { completionCode, bindingVerifier: VERIFIER });
    expect(answer).toMatchObject({ connectionId: holder.connectionId, mergedFrom: input.connectionId });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-2');
  });

  it('when a session-bound "update" finds no holder, then the completion connects the connection itself', async () => {
    const { input, completionCode } = await boundExchanged(world, 'at-2');
    const answer = await completeConnection(world.runtime, CLIENT, input.connectionId, { completionCode, bindingVerifier: VERIFIER });
    expect(answer).toMatchObject({ connectionId: input.connectionId, status: 'connected' });
    expect((answer as { mergedFrom?: string }).mergedFrom).toBeUndefined();
    expect(await accessTokenOf(world, input.connectionId)).toBe('at-2');
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected' });
  });

  it('when "add" (the default) or another end user connects the same account, then each is a connection of its own', async () => {
    const first = await connected(world, 'at-1');
    world.provider.answerWith(grant('at-2'));
    const added = await recordedCallback(world, { onExistingAccount: 'add' });
    expect(await exchangeCredentials(world.runtime, added)).toMatchObject({ outcome: 'connected' });
    world.provider.answerWith(grant('at-3'));
    const otherUser = await recordedCallback(world, { endUserId: 'end-user-2', onExistingAccount: 'update' });
    expect(await exchangeCredentials(world.runtime, otherUser)).toMatchObject({ outcome: 'connected' });
    expect(await accessTokenOf(world, first.connectionId)).toBe('at-1');
    const page = await world.runtime.connections.list(CLIENT, { accountSubject: 'u-1', accountIssuer: world.provider.origin }, 10);
    expect(page.items.map((c) => c.connectionId).sort()).toEqual([first.connectionId, added.connectionId, otherUser.connectionId].sort());
  });
});
