/**
 * The health-probe sweep in-process: real tables, the recording server as the provider's API
 * (its verifyUrl), a fake durable client for the webhook. The probe itself is tested against the
 * oauthlib provider and oidc-provider in test/integration/credential-probes.test.ts.
 */
import { Orchestrations } from '../../src/durable/names';
import { probeCredentials } from '../../src/services/probe-credentials';
import { CLIENT, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();
const WEBHOOKS = new Map([[CLIENT, { url: 'https://app.example/hooks', secrets: ['hook-secret'] }]]);

async function rowOf(world: World, connectionId: string) {
  const stored = await world.runtime.connections.require(CLIENT, connectionId);
  return { connection: stored.connection, credentials: await world.runtime.connections.openCredentials(stored) };
}

describe('probeCredentials', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world({ webhooks: WEBHOOKS });
  });

  it('when the provider refuses long-lived credentials, then the connection is reauth_required (REVOKED_AT_PROVIDER), they are erased and the webhook starts', async () => {
    const { connection } = await seedConnected(world, { provider: 'longlived', expiresInSeconds: null });
    world.provider.answerWith({ status: 401, body: '' });
    expect(await probeCredentials(world.runtime)).toEqual({ probed: 1, revoked: [connection.connectionId] });

    const [probe] = world.provider.takeRequests();
    expect(probe).toMatchObject({ method: 'GET', target: '/api/me', headers: expect.objectContaining({ authorization: 'Bearer at-1' }) });
    const row = await rowOf(world, connection.connectionId);
    expect(row.connection).toMatchObject({ status: 'reauth_required', error: { code: 'REVOKED_AT_PROVIDER' } });
    expect(row.credentials).toBeUndefined();
    expect(world.durable.started).toEqual([expect.objectContaining({
      name: Orchestrations.WebhookDelivery,
      input: expect.objectContaining({ type: 'connection.reauth_required', connectionId: connection.connectionId, error: expect.objectContaining({ code: 'REVOKED_AT_PROVIDER' }) }),
    })]);
  });

  it('when OAuth 1.0a credentials still work, then nothing changes; they were sent signed', async () => {
    const { connection } = await seedConnected(world, {
      provider: 'legacy', expiresInSeconds: null, credentials: { protocol: 'oauth1', oauthToken: 'tok', oauthTokenSecret: 'tok-secret' },
    });
    world.provider.answerWith({ status: 200, body: '{}' });
    expect(await probeCredentials(world.runtime)).toEqual({ probed: 1, revoked: [] });
    const [probe] = world.provider.takeRequests();
    expect(probe.headers.authorization).toMatch(/^OAuth .*oauth_token="tok"/);
    expect((await rowOf(world, connection.connectionId)).connection.status).toBe('connected');
    expect(world.durable.started).toEqual([]);
  });

  it('when the provider is down, then the probe says nothing and nothing changes', async () => {
    const { connection } = await seedConnected(world, { provider: 'longlived', expiresInSeconds: null });
    world.provider.answerWith({ status: 503, body: '' });
    expect(await probeCredentials(world.runtime)).toEqual({ probed: 1, revoked: [] });
    expect((await rowOf(world, connection.connectionId)).connection.status).toBe('connected');
  });

  it('credentials that expire are left to their refresh loop, and providers without verifyUrl are not probed', async () => {
    await seedConnected(world, { provider: 'longlived' });
    await seedConnected(world, { provider: 'acme', expiresInSeconds: null });
    expect(await probeCredentials(world.runtime)).toEqual({ probed: 0, revoked: [] });
    expect(world.provider.takeRequests()).toEqual([]);
  });
});
