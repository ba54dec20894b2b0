/**
 * The callback service in-process: real tables, the recording server as token endpoint, a fake
 * orchestration that runs the real exchange, and a fake clock for the authorization window.
 */
import { Events } from '../../src/durable/names';
import { CALLBACK_TIMINGS, handleCallback } from '../../src/services/callback';
import { authorizationIdForState } from '../../src/services/begin-authorization';
import { reauthorize } from '../../src/services/reauthorize';
import { startConnection, type StartedConnection } from '../../src/services/start-connection';
import { CLIENT, orchestrateWithActivities, rejection, servicesFixture, tokenAnswer, tokenRequests, type World } from './_world';

const fixture = servicesFixture();

async function begin(world: World, returnTo?: string): Promise<StartedConnection & { state: string }> {
  const started = await startConnection(world.runtime, CLIENT, { provider: 'acme', ...(returnTo ? { returnTo } : {}) });
  return { ...started, state: new URL(started.authorizationUrl).searchParams.get('state') ?? '' };
}

function query(params: Record<string, string>): URLSearchParams {
  return new URLSearchParams(params);
}

describe('handleCallback', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }));
  });

  it('when the state is unknown, then STATE_INVALID and nothing is raised', async () => {
    await begin(world);
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ code: 'c', state: 'never-issued' })));
    expect(error.code).toBe('STATE_INVALID');
    expect(world.durable.raised).toEqual([]);
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when the authorization window has passed, then STATE_EXPIRED, nothing is recorded and the connection still waits', async () => {
    const started = await begin(world);
    world.clock.advance(world.runtime.settings.authorizationTimeoutSeconds * 1000);
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ code: 'c', state: started.state })));
    expect(error.code).toBe('STATE_EXPIRED');
    expect(world.durable.raised).toEqual([]);
    const stored = await world.runtime.connections.require(CLIENT, started.connectionId);
    expect(stored.connection.status).toBe('awaiting_callback');
    expect((await world.runtime.authorizations.get(stored.connection.authorizationId ?? ''))?.callback).toBeUndefined();
  });

  it('when the code arrives in time, then the event carries only the reference and the page says connected', async () => {
    const started = await begin(world);
    const answer = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    expect(answer).toEqual({ kind: 'page', connectionId: started.connectionId, status: 'connected' });
    const [raised] = world.durable.raisedOf(Events.Callback);
    expect(raised.payload).toEqual({ authorizationId: expect.any(String), outcome: 'code' });
    expect(JSON.stringify(raised.payload)).not.toContain('code-1');
    expect(tokenRequests(world)).toHaveLength(1);
  });

  it('when the same callback arrives twice, then the second gets the same answer and causes no second exchange', async () => {
    const started = await begin(world, 'https://app.example/done?x=1');
    const first = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    const second = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    expect(second).toEqual(first);
    expect(first).toMatchObject({ kind: 'redirect', status: 'connected' });
    const location = new URL((first as { location: string }).location);
    expect([...location.searchParams]).toEqual([['x', '1'], ['connectionId', started.connectionId], ['status', 'connected']]);
    expect(tokenRequests(world)).toHaveLength(1);
  });

  it('when a different code comes with an already used state, then it is refused as a replay and the connection keeps its credentials', async () => {
    const started = await begin(world);
    await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    const raisedBefore = world.durable.raised.length;
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ code: 'forged-code', state: started.state })));
    expect(error).toMatchObject({ code: 'STATE_INVALID', message: 'this authorization response was already used' });
    expect(world.durable.raised).toHaveLength(raisedBefore);
    expect(tokenRequests(world)).toHaveLength(1);
    const stored = await world.runtime.connections.require(CLIENT, started.connectionId);
    expect(await world.runtime.connections.openCredentials(stored)).toMatchObject({ accessToken: 'at-1' });
  });

  it('when a replay arrives while the first callback is still being exchanged, then it is refused too', async () => {
    world.durable.onEvent = {}; // the orchestration has not picked the event up yet
    const started = await begin(world);
    await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ error: 'access_denied', state: started.state })));
    expect(error.code).toBe('STATE_INVALID');
  });

  it('when a newer attempt superseded the state, then the old pending row is gone, the old callback is refused and changes nothing', async () => {
    const started = await begin(world);
    await reauthorize(world.runtime, CLIENT, started.connectionId);
    expect(await world.runtime.authorizations.get(authorizationIdForState(started.state))).toBeUndefined();
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state })));
    expect(error).toMatchObject({ code: 'STATE_INVALID', message: 'unknown or already used state' });
    expect(world.durable.raisedOf(Events.Callback)).toEqual([]);
    expect((await world.runtime.connections.require(CLIENT, started.connectionId)).connection.status).toBe('awaiting_callback');
  });

  it('when the user denies, then the connection is denied and the redirect names the error', async () => {
    const started = await begin(world, 'https://app.example/done');
    const answer = await handleCallback(world.runtime, 'acme', query({ error: 'access_denied', error_description: 'no thanks', state: started.state }));
    expect(answer).toMatchObject({ kind: 'redirect', status: 'denied' });
    const location = new URL((answer as { location: string }).location);
    expect(Object.fromEntries(location.searchParams)).toEqual({ connectionId: started.connectionId, status: 'denied', error: 'access_denied' });
    const stored = await world.runtime.connections.require(CLIENT, started.connectionId);
    expect(stored.connection).toMatchObject({ status: 'denied', error: { code: 'OAUTH_ACCESS_DENIED', message: 'no thanks', providerError: 'access_denied' } });
    expect(tokenRequests(world)).toEqual([]);
  });

  it('when a known state comes without a code, then CALLBACK_INVALID and the connection can still complete', async () => {
    const started = await begin(world);
    expect((await rejection(handleCallback(world.runtime, 'acme', query({ state: started.state })))).code).toBe('CALLBACK_INVALID');
    const answer = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    expect(answer.status).toBe('connected');
  });

  it('when the instance is not ready for the event yet, then the raise is retried on the clock until it lands', async () => {
    const started = await begin(world);
    world.durable.failNextRaises = 3;
    const before = world.clock.ms;
    const answer = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    expect(answer.status).toBe('connected');
    expect(world.clock.ms - before).toBe(100 + 200 + 400);
  });

  it('when the instance never becomes ready, then a transient STORAGE_UNAVAILABLE and the persisted callback still completes later', async () => {
    const started = await begin(world);
    world.durable.failNextRaises = 1_000;
    const error = await rejection(handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state })));
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', transient: true });
    world.durable.failNextRaises = 0;
    expect((await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }))).status).toBe('connected');
    expect(tokenRequests(world)).toHaveLength(1);
  });

  it('when the exchange takes longer than the settle window, then the answer reports the status reached so far', async () => {
    world.durable.onEvent = {};
    const started = await begin(world);
    const before = world.clock.ms;
    const answer = await handleCallback(world.runtime, 'acme', query({ code: 'code-1', state: started.state }));
    expect(answer).toEqual({ kind: 'page', connectionId: started.connectionId, status: 'awaiting_callback' });
    expect(world.clock.ms - before).toBeGreaterThanOrEqual(CALLBACK_TIMINGS.settleWaitMs);
  });

  it('when an OAuth 1.0a callback names an unknown oauth_token, then OAUTH_TOKEN_MISMATCH', async () => {
    const error = await rejection(handleCallback(world.runtime, 'legacy', query({ oauth_token: 'unknown', oauth_verifier: 'v' })));
    expect(error.code).toBe('OAUTH_TOKEN_MISMATCH');
  });
});
