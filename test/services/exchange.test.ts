/**
 * The exchange activity in-process: a callback is recorded through the real callback service (the
 * fake orchestration does not act on it), then the activity runs as the orchestration would run it.
 */
import { BrokerError } from '../../src/domain/errors';
import { exchangeCredentials, type ExchangeInput } from '../../src/services/exchange';
import { handleCallback } from '../../src/services/callback';
import { revokeConnection } from '../../src/services/revoke';
import type { Runtime } from '../../src/services/runtime';
import { reauthorize } from '../../src/services/reauthorize';
import { startConnection } from '../../src/services/start-connection';
import { AuthorizationsRepository } from '../../src/storage/authorizations-repo';
import { ConnectionsRepository } from '../../src/storage/connections-repo';
import { CLIENT, seedConnected, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();

/** A connection whose callback (a code) is persisted and waits for its exchange. */
async function recordedCallback(world: World): Promise<ExchangeInput> {
  const started = await startConnection(world.runtime, CLIENT, { provider: 'acme' });
  const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
  await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'code-1', state }));
  const { connection } = await world.runtime.connections.require(CLIENT, started.connectionId);
  return { connectionId: connection.connectionId, clientId: CLIENT, authorizationId: connection.authorizationId ?? '' };
}

describe('exchangeCredentials', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the provider issues a refresh token, then the connection is connected and refreshable, and a re-run sends nothing', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1', scope: 'read write' }));
    const input = await recordedCallback(world);
    const result = await exchangeCredentials(world.runtime, input);
    expect(result).toEqual({
      refreshMarginMs: 60_000,
      outcome: 'connected',
      credentialsVersion: 1,
      issuedAt: world.clock.now().toISOString(),
      expiresAt: new Date(world.clock.ms + 3600_000).toISOString(),
      refreshable: true,
      scopes: ['read', 'write'],
      webhooks: false,
    });
    const sent = tokenRequests(world);
    expect(sent).toHaveLength(1);
    expect(Object.fromEntries(new URLSearchParams(sent[0].body))).toMatchObject({ grant_type: 'authorization_code', code: 'code-1', code_verifier: expect.any(String) });
    // At-least-once: the activity may run again; it answers from the row and never reuses the code.
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', credentialsVersion: 1, refreshable: true });
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when the provider sends expires_in but no refresh token, then the token is not refreshable: no refresh loop', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', refreshable: false, expiresAt: expect.any(String) });
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', refreshable: false });
  });

  it('when the provider refuses the code (invalid_grant), then the callback is released and the connection keeps waiting', async () => {
    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant', error_description: 'code already used' }, 400));
    const input = await recordedCallback(world);
    const fingerprint = (await world.runtime.authorizations.get(input.authorizationId))?.callback?.fingerprint;
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'rejected', refreshable: false });
    const { connection } = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(connection).toMatchObject({ status: 'awaiting_callback', error: { code: 'CALLBACK_REJECTED', providerError: 'invalid_grant' } });
    const attempt = await world.runtime.authorizations.get(input.authorizationId);
    expect(attempt?.callback).toBeUndefined();
    expect(attempt?.rejectedFingerprints).toEqual([fingerprint]);
    // A re-run of the same activity sends nothing and answers the same.
    world.provider.takeRequests();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'rejected' });
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when the provider refuses the client itself, then the connection is failed with the provider’s error and the outcome says so', async () => {
    world.provider.answerWith(tokenAnswer({ error: 'invalid_client' }, 401));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'failed', refreshable: false });
    const { connection } = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(connection).toMatchObject({ status: 'failed', error: { code: 'OAUTH_INVALID_CLIENT' } });
  });

  it('when the provider is unavailable, then the error is thrown for the orchestration to retry and the connection keeps waiting', async () => {
    world.provider.answerWith(tokenAnswer({ error: 'temporarily_unavailable' }, 503));
    const input = await recordedCallback(world);
    await expect(exchangeCredentials(world.runtime, input)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', transient: true });
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).connection.status).toBe('awaiting_callback');
  });

  it('when a run stored the credentials but failed before marking the attempt, then the re-run finishes it: connected, refreshable, audited, the code not sent again', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
    const input = await recordedCallback(world);
    const exchangedAt = world.clock.now().toISOString();
    const mark = jest
      .spyOn(AuthorizationsRepository.prototype, 'markExchanged')
      .mockRejectedValueOnce(new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { transient: true }));
    await expect(exchangeCredentials(world.runtime, input)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).connection).toMatchObject({ status: 'connected', credentialsVersion: 1 });
    expect(tokenRequests(world)).toHaveLength(1);

    world.clock.advance(2_000); // the orchestration's retry
    mark.mockRestore();
    expect(await exchangeCredentials(world.runtime, input)).toEqual({
      refreshMarginMs: 60_000,
      outcome: 'connected',
      credentialsVersion: 1,
      issuedAt: exchangedAt,
      expiresAt: new Date(Date.parse(exchangedAt) + 3600_000).toISOString(),
      refreshable: true,
      scopes: ['read'],
      webhooks: false,
    });
    expect(tokenRequests(world)).toEqual([]);
    const attempt = await world.runtime.authorizations.get(input.authorizationId);
    expect(attempt).toMatchObject({ exchangedAt });
    expect(attempt?.sealedSecrets).toBeUndefined();
    const events = (await world.audit.list(CLIENT, input.connectionId, { top: 100 })).items;
    expect(events.filter((e) => e.type === 'exchanged')).toEqual([expect.objectContaining({ at: exchangedAt, details: expect.objectContaining({ credentialsVersion: 1 }) })]);
    expect(events.filter((e) => e.type === 'authorized')).toHaveLength(1);
  });

  it('when a move onto the successor stored the new credentials but stopped before revoking the old grant, then the re-run revokes it', async () => {
    const { connection } = await seedConnected(world, { provider: 'acmeold' }); // holds at-1 / rt-1
    const started = await reauthorize(world.runtime, CLIENT, connection.connectionId, { provider: 'acme' });
    const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
    await handleCallback(world.runtime, 'acme', new URLSearchParams({ code: 'code-2', state }));
    const { authorizationId = '' } = (await world.runtime.connections.require(CLIENT, connection.connectionId)).connection;
    const input = { connectionId: connection.connectionId, clientId: CLIENT, authorizationId };
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-2' }));
    world.provider.takeRequests();
    // The run stops right after the save (as if its process died there): the old grant is no longer on the row.
    const connections = world.runtime.connections;
    const save = connections.save.bind(connections);
    jest.spyOn(connections, 'save').mockImplementationOnce(async (...args) => {
      await save(...args);
      throw new BrokerError('STORAGE_UNAVAILABLE', 'the instance stopped', { transient: true });
    });
    await expect(exchangeCredentials(world.runtime, input)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(world.provider.takeRequests().map((r) => r.target)).toEqual(['/token']);
    expect((await world.runtime.connections.require(CLIENT, connection.connectionId)).connection).toMatchObject({ provider: 'acme', status: 'connected' });

    world.clock.advance(2_000); // the orchestration's retry
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected' });

    const sent = world.provider.takeRequests();
    expect(sent.map((r) => r.target)).toEqual(['/revoke']);
    expect(new URLSearchParams(sent[0].body).get('token')).toBe('rt-1');
    const attempt = await world.runtime.authorizations.get(authorizationId);
    expect(attempt?.sealedRetiring).toBeUndefined();
    const events = (await world.audit.list(CLIENT, connection.connectionId, { top: 100 })).items;
    expect(events.filter((e) => e.type === 'exchanged')).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ movedFrom: 'acmeold', previousRevokedAtProvider: true }) }),
    ]);
  });

  it('when the attempt is no longer the connection’s current one, then stale and nothing is sent', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer' }));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(world.runtime, { ...input, authorizationId: 'another-attempt' })).toMatchObject({ outcome: 'stale' });
    expect(tokenRequests(world)).toEqual([]);
  });
});

/** The same tables seen from another instance of the app: repositories that remember nothing this one wrote. */
function anotherInstance(world: World): Runtime {
  const authorizations = world.runtime.authorizations as AuthorizationsRepository;
  const connections = world.runtime.connections as ConnectionsRepository;
  return {
    ...world.runtime,
    authorizations: new AuthorizationsRepository(authorizations['table'], authorizations['sealer']),
    connections: new ConnectionsRepository(connections['table'], connections['sealer']),
  };
}

/** Point reads of the pending rows and of the connection rows from here on. */
function pointReads(world: World) {
  return {
    attempts: jest.spyOn((world.runtime.authorizations as AuthorizationsRepository)['table'], 'getEntity'),
    rows: jest.spyOn((world.runtime.connections as ConnectionsRepository)['table'], 'getEntity'),
  };
}

describe('exchangeCredentials after a callback this instance recorded', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('when the exchange runs where the callback was recorded, then it reads the connection row but not the pending row again; a re-run reads both and sends nothing', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
    const input = await recordedCallback(world);
    const reads = pointReads(world);
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', credentialsVersion: 1, refreshable: true });
    expect(reads.attempts).not.toHaveBeenCalled();
    expect(reads.rows).toHaveBeenCalledTimes(1);
    const sent = tokenRequests(world);
    expect(sent).toHaveLength(1);
    expect(new URLSearchParams(sent[0].body).get('code')).toBe('code-1');
    expect((await world.runtime.authorizations.get(input.authorizationId))?.sealedSecrets).toBeUndefined();

    // Marked exchanged, the attempt is no longer remembered: the re-run decides on what storage says.
    reads.attempts.mockClear();
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', credentialsVersion: 1, refreshable: true });
    expect(reads.attempts).toHaveBeenCalledTimes(1);
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when another instance ran the same exchange first (the activity ran twice), then this run answers connected from fresh reads and never presents the code again', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(anotherInstance(world), input)).toMatchObject({ outcome: 'connected', credentialsVersion: 1 });
    expect(tokenRequests(world)).toHaveLength(1);

    const reads = pointReads(world);
    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'connected', credentialsVersion: 1, refreshable: true });
    expect(reads.attempts).toHaveBeenCalledTimes(1);
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when another instance had the code refused, then this run reads the released attempt afresh: rejected, the refused code not sent again', async () => {
    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant' }, 400));
    const input = await recordedCallback(world);
    expect(await exchangeCredentials(anotherInstance(world), input)).toMatchObject({ outcome: 'rejected' });
    expect(tokenRequests(world)).toHaveLength(1);

    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'rejected' });
    expect(tokenRequests(world)).toEqual([]);
    const { connection } = await world.runtime.connections.require(CLIENT, input.connectionId);
    expect(connection).toMatchObject({ status: 'awaiting_callback', error: { code: 'CALLBACK_REJECTED' } });
  });

  it('when another instance revoked the connection after the callback, then this run is stale and sends nothing', async () => {
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer' }));
    const input = await recordedCallback(world);
    await revokeConnection(anotherInstance(world), { connectionId: input.connectionId, clientId: CLIENT });
    world.provider.takeRequests();

    expect(await exchangeCredentials(world.runtime, input)).toMatchObject({ outcome: 'stale' });
    expect(tokenRequests(world)).toEqual([]);
    expect((await world.runtime.connections.require(CLIENT, input.connectionId)).connection.status).toBe('revoked');
  });

  it('when more callbacks are recorded than it keeps, then the oldest is forgotten and its exchange reads the pending row', async () => {
    const authorizations = world.runtime.authorizations as AuthorizationsRepository;
    world.runtime.authorizations = new AuthorizationsRepository(authorizations['table'], authorizations['sealer'], 1);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer' }));
    const first = await recordedCallback(world);
    const second = await recordedCallback(world);
    expect(await world.runtime.authorizations.lastRecorded(first.authorizationId, world.clock.now())).toBeUndefined();
    expect(await world.runtime.authorizations.lastRecorded(second.authorizationId, world.clock.now())).toBeDefined();
    const reads = pointReads(world);
    expect(await exchangeCredentials(world.runtime, first)).toMatchObject({ outcome: 'connected' });
    expect(reads.attempts).toHaveBeenCalledTimes(1);
    expect(tokenRequests(world)).toHaveLength(1);
  });

  it('when the authorization window has ended, then the recorded attempt is forgotten', async () => {
    const input = await recordedCallback(world);
    expect(await world.runtime.authorizations.lastRecorded(input.authorizationId, world.clock.now())).toMatchObject({ callback: { outcome: 'code' } });
    world.clock.advance(world.runtime.settings.authorizationTimeoutSeconds * 1000);
    expect(await world.runtime.authorizations.lastRecorded(input.authorizationId, world.clock.now())).toBeUndefined();
  });
});
