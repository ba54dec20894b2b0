/**
 * Client credentials connections in-process: real tables, the recording server as token endpoint,
 * a fake durable client whose "orchestration" runs the real refresh activity when it starts.
 */
import { refreshCredentials } from '../../src/services/refresh';
import { reauthorize } from '../../src/services/reauthorize';
import { startConnection } from '../../src/services/start-connection';
import { getToken } from '../../src/services/token';
import { CLIENT, orchestrateWithActivities, rejection, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();

const machineToken = (accessToken: string) => tokenAnswer({ access_token: accessToken, token_type: 'Bearer', expires_in: 1800, scope: 'read' });

describe('client credentials connections', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
  });

  const start = () => startConnection(world.runtime, CLIENT, { provider: 'machine', grant: 'client_credentials', connectionId: 'm1' });
  const row = async () => {
    const stored = await world.runtime.connections.require(CLIENT, 'm1');
    return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored) };
  };

  it('when started, then the first token is fetched with the grant and the answer says connected, with no authorization URL', async () => {
    world.provider.answerWith(machineToken('mt-1'));
    const started = await start();
    expect(started).toEqual({
      connectionId: 'm1',
      provider: 'machine',
      grant: 'client_credentials',
      status: 'connected',
      scopes: ['read'],
      expiresAt: new Date(world.clock.ms + 1_800_000).toISOString(),
    });
    const [request] = tokenRequests(world);
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ grant_type: 'client_credentials', scope: 'read', client_id: 'broker-client', client_secret: 'broker-secret' });
    expect(await row()).toMatchObject({ connection: { grant: 'client_credentials', credentialsVersion: 1 }, credentials: { accessToken: 'mt-1' } });
    expect(await getToken(world.runtime, CLIENT, 'm1')).toMatchObject({ accessToken: 'mt-1' });
  });

  it('when the token endpoint fails at the start, then the connection stays refreshing with the error, and the next fetch connects it', async () => {
    world.provider.answerWith({ status: 503, body: '' });
    const started = await start();
    expect(started).toMatchObject({ status: 'refreshing', expiresAt: null, error: { code: 'PROVIDER_UNAVAILABLE' } });

    world.provider.answerWith(machineToken('mt-1'));
    expect(await refreshCredentials(world.runtime, { connectionId: 'm1', clientId: CLIENT, expectedVersion: 0 })).toMatchObject({ outcome: 'refreshed', credentialsVersion: 1, refreshable: true, first: true });
    expect((await row()).connection).toMatchObject({ status: 'connected', credentialsVersion: 1 });
    expect((await row()).connection.error).toBeUndefined();
  });

  it('when a token is read before the first one is stored, then the read waits for the fetch it asks for and serves its token', async () => {
    world.provider.answerWith({ status: 503, body: '' });
    await start();
    world.provider.answerWith(machineToken('mt-1'));
    expect(await getToken(world.runtime, CLIENT, 'm1')).toMatchObject({ accessToken: 'mt-1', scopes: ['read'] });
    expect(world.durable.raisedOf('refresh').map((r) => r.payload)).toEqual([{ seenVersion: 0 }]);
  });

  it('when renewed, then a new token is fetched with the grant again (there is no refresh token) and the last one is replaced', async () => {
    world.provider.answerWith(machineToken('mt-1'));
    await start();
    tokenRequests(world);
    world.clock.advance(1_790_000);
    world.provider.answerWith(machineToken('mt-2'));
    const renewed = await refreshCredentials(world.runtime, { connectionId: 'm1', clientId: CLIENT, expectedVersion: 1 });
    expect(renewed).toMatchObject({ outcome: 'refreshed', credentialsVersion: 2, refreshable: true });
    expect(renewed).not.toHaveProperty('first');
    expect(new URLSearchParams(tokenRequests(world)[0].body).get('grant_type')).toBe('client_credentials');
    expect((await row()).credentials).toMatchObject({ accessToken: 'mt-2' });
  });

  it('when a renewal fails transiently, then the last good token is kept and the status stays connected', async () => {
    world.provider.answerWith(machineToken('mt-1'));
    await start();
    world.provider.answerWith({ status: 503, body: '' });
    expect(await refreshCredentials(world.runtime, { connectionId: 'm1', clientId: CLIENT, expectedVersion: 1 })).toMatchObject({ outcome: 'transient' });
    expect(await row()).toMatchObject({ connection: { status: 'connected', error: { code: 'PROVIDER_UNAVAILABLE' } }, credentials: { accessToken: 'mt-1' } });
  });

  it('when the provider refuses the grant, then the connection fails (there is no end user to reauthorize), and reauthorize is refused', async () => {
    world.provider.answerWith(machineToken('mt-1'));
    await start();
    world.provider.answerWith(tokenAnswer({ error: 'invalid_grant' }, 400));
    expect(await refreshCredentials(world.runtime, { connectionId: 'm1', clientId: CLIENT, expectedVersion: 1 })).toMatchObject({ outcome: 'failed', errorCode: 'OAUTH_INVALID_GRANT' });
    expect((await row()).connection.status).toBe('failed');
    expect((await rejection(reauthorize(world.runtime, CLIENT, 'm1'))).code).toBe('GRANT_NOT_ALLOWED');
  });

  it('when the provider does not list the grant, then GRANT_NOT_ALLOWED and nothing is written or sent', async () => {
    const error = await rejection(startConnection(world.runtime, CLIENT, { provider: 'acme', grant: 'client_credentials', connectionId: 'm2' }));
    expect(error).toMatchObject({ code: 'GRANT_NOT_ALLOWED', details: { field: 'grant', allowed: ['authorization_code'] } });
    expect(await world.runtime.connections.get(CLIENT, 'm2')).toBeUndefined();
    expect(tokenRequests(world)).toEqual([]);
  });
});
