/** Webhook delivery in-process: the recording server as the client's receiver, signed on the fake clock. */
import { verifyWebhook, WEBHOOK_HEADERS } from '../../src/webhooks/signature';
import type { NotifyWebhookInput } from '../../src/durable/contract';
import { deliverWebhook } from '../../src/services/webhooks';
import { CLIENT, rejection, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();
const SECRET = 'whsec-test';

function eventFor(connectionId: string, overrides: Partial<NotifyWebhookInput> = {}): NotifyWebhookInput {
  return {
    connectionId,
    clientId: CLIENT,
    provider: 'acme',
    protocol: 'oauth2',
    type: 'connection.connected',
    eventId: '5b4f8d9e-0000-4000-8000-000000000001',
    occurredAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('deliverWebhook', () => {
  let world: World;
  beforeAll(async () => {
    world = await fixture.world();
  });
  beforeEach(() => {
    world.runtime.webhooks = new Map([[CLIENT, { url: `${world.provider.origin}/hooks`, secret: SECRET }]]);
  });

  it('when the client has a webhook, then one signed POST carries the status and no token', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 204 });
    expect(await deliverWebhook(world.runtime, eventFor(connection.connectionId))).toEqual({ status: 204 });
    const [sent] = world.provider.takeRequests();
    expect(sent.method).toBe('POST');
    expect(sent.target).toBe('/hooks');
    expect(sent.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent.body)).toMatchObject({ type: 'connection.connected', data: expect.objectContaining({ connectionId: connection.connectionId, status: 'connected' }) });
    expect(sent.body).not.toContain('at-1');
    expect(sent.headers[WEBHOOK_HEADERS.timestamp]).toBe(String(world.clock.ms / 1000));
    const verified = verifyWebhook({
      secret: SECRET,
      timestampHeader: sent.headers[WEBHOOK_HEADERS.timestamp] as string,
      signatureHeader: sent.headers[WEBHOOK_HEADERS.signature] as string,
      body: sent.body,
      nowSeconds: world.clock.ms / 1000,
    });
    expect(verified).toBe(true);
  });

  it('when the client has no webhook, then nothing is sent', async () => {
    world.runtime.webhooks = new Map();
    expect(await deliverWebhook(world.runtime, eventFor('any'))).toEqual({ skipped: true });
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when the receiver answers outside 2xx, then a transient UPSTREAM_UNREACHABLE for the delivery orchestration to retry', async () => {
    const { connection } = await seedConnected(world);
    world.provider.answerWith({ status: 500 });
    const error = await rejection(deliverWebhook(world.runtime, eventFor(connection.connectionId)));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', transient: true, message: 'webhook receiver answered 500' });
  });

  it('when the receiver cannot be reached, then a transient UPSTREAM_UNREACHABLE naming the transport error', async () => {
    world.runtime.webhooks = new Map([[CLIENT, { url: 'http://127.0.0.1:9/hooks', secret: SECRET }]]);
    const error = await rejection(deliverWebhook(world.runtime, eventFor('gone', { type: 'connection.revoked' })));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', transient: true, message: 'webhook receiver not reachable (ECONNREFUSED)' });
  });
});
