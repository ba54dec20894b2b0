/**
 * Several accounts per provider and end user, in-process against Azurite: the account named by the
 * provider's user endpoint, and `onExistingAccount: "update"` under at-least-once activities (a
 * re-run, a run that stopped between its writes, a holder that changed in between).
 */
import { Events, Orchestrations } from '../../src/durable/names';
import { exchangeCredentials, type ExchangeInput } from '../../src/services/exchange';
import { handleCallback } from '../../src/services/callback';
import { findAccountHolder, markMerging } from '../../src/services/merge-account';
import { startConnection } from '../../src/services/start-connection';
import { saveWithRetry } from '../../src/services/save';
import { CLIENT, running, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();

/** The canned answer serves the token endpoint and the user endpoint alike. */
const grant = (accessToken: string, userId: string | number = 'u-1') =>
  tokenAnswer({ access_token: accessToken, token_type: 'bearer', expires_in: 3600, refresh_token: `rt-${accessToken}`, user: { id: userId, name: 'Octo Cat' } });

async function recordedCallback(world: World, body: { endUserId?: string; onExistingAccount?: 'add' | 'update' } = {}): Promise<ExchangeInput> {
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

async function accessTokenOf(world: World, connectionId: string): Promise<string | undefined> {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  const credentials = await world.runtime.connections.openCredentials(stored);
  return credentials?.protocol === 'oauth2' ? credentials.accessToken : undefined;
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
    const holder = await connected(world, 'at-1');
    world.provider.answerWith(grant('at-2'));
    const input = await recordedCallback(world, { onExistingAccount: 'update' });
    const stored = await world.runtime.connections.require(CLIENT, input.connectionId);
    const found = await findAccountHolder(world.runtime, stored.connection, { issuer: world.provider.origin, subject: 'u-1' });
    expect(found?.connection.connectionId).toBe(holder.connectionId);
    await markMerging(world.runtime, stored, input.authorizationId, found!, {
      credentials: { protocol: 'oauth2', accessToken: 'at-kept', tokenType: 'Bearer', refreshToken: 'rt-kept' },
      scopes: ['read'],
      expiresAt: new Date(world.clock.ms + 3600_000).toISOString(),
      account: { issuer: world.provider.origin, subject: 'u-1' },
      issuedAt: new Date(world.clock.ms + 1).toISOString(),
    });
    world.provider.takeRequests();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged', mergedInto: holder.connectionId });
    expect(world.provider.takeRequests()).toEqual([]);
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-kept');
  });

  it('when the holder was revoked in between, then the new connection stands on its own', async () => {
    const holder = await connected(world, 'at-1');
    world.provider.answerWith(grant('at-2'));
    const input = await recordedCallback(world, { onExistingAccount: 'update' });
    const stored = await world.runtime.connections.require(CLIENT, input.connectionId);
    const found = await findAccountHolder(world.runtime, stored.connection, { issuer: world.provider.origin, subject: 'u-1' });
    await markMerging(world.runtime, stored, input.authorizationId, found!, {
      credentials: { protocol: 'oauth2', accessToken: 'at-own', tokenType: 'Bearer', refreshToken: 'rt-own' },
      scopes: ['read'],
      expiresAt: new Date(world.clock.ms + 3600_000).toISOString(),
      account: { issuer: world.provider.origin, subject: 'u-1' },
      issuedAt: new Date(world.clock.ms + 1).toISOString(),
    });
    await saveWithRetry(world.runtime, found!, (c) => ({ next: { ...c, status: 'revoked' }, change: { credentials: null } }));
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', refreshable: true });
    const own = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(own.connection.status).toBe('connected');
    expect(own.connection.mergedInto).toBeUndefined();
    expect(await accessTokenOf(world, input.connectionId)).toBe('at-own');
    expect((await world.runtime.connections.require(CLIENT, holder.connectionId)).connection.status).toBe('revoked');
  });

  it('when the holder took newer credentials since (a refresh after the merge), then a re-run leaves them alone', async () => {
    const holder = await connected(world, 'at-1');
    world.provider.answerWith(grant('at-2'));
    const input = await recordedCallback(world, { onExistingAccount: 'update' });
    const stored = await world.runtime.connections.require(CLIENT, input.connectionId);
    const found = await findAccountHolder(world.runtime, stored.connection, { issuer: world.provider.origin, subject: 'u-1' });
    // The grant is older than what the holder holds now.
    const heldSince = Date.parse(found!.issuedAt ?? '');
    await markMerging(world.runtime, stored, input.authorizationId, found!, {
      credentials: { protocol: 'oauth2', accessToken: 'at-stale', tokenType: 'Bearer', refreshToken: 'rt-stale' },
      scopes: ['read'],
      expiresAt: new Date(world.clock.ms + 3600_000).toISOString(),
      account: { issuer: world.provider.origin, subject: 'u-1' },
      issuedAt: new Date(heldSince - 1000).toISOString(),
    });
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'merged' });
    expect(await accessTokenOf(world, holder.connectionId)).toBe('at-1');
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).sealedCredentials).toBeUndefined();
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
