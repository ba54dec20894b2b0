/**
 * The services behind connect links, session binding rules, dead-lettered webhooks, MCP server
 * onboarding and refresh metrics, in-process: real tables, the recording server, a fake clock.
 */
import { BrokerError } from '../../src/domain/errors';
import { assertBindingRules } from '../../src/services/complete-connection';
import { createConnectLink, readConnectLink, useConnectLink } from '../../src/services/connect-links';
import { listFailedWebhooks, recordFailedWebhook, redeliverFailedWebhook } from '../../src/services/failed-webhooks';
import { addMcpServer } from '../../src/services/mcp-servers';
import { observedRefresh } from '../../src/services/observed-refresh';
import type { Runtime } from '../../src/services/runtime';
import { Metrics, noTelemetry, type Telemetry } from '../../src/telemetry/port';
import { CLIENT, rejection, seedConnected, servicesFixture, type World } from './_world';

const fixture = servicesFixture();

describe('connect links', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when a link is created, read and used, then it starts one connection for its end user and is refused afterwards', async () => {
    const link = await createConnectLink(world.runtime, CLIENT, { endUserId: 'user-7', providers: ['acme'] });
    const token = new URL(link.url).pathname.split('/').at(-1) ?? '';
    expect(link.url).not.toContain('user-7');
    expect(await readConnectLink(world.runtime, token)).toEqual({ providers: [{ name: 'acme', displayName: 'acme' }], expiresAt: link.expiresAt });
    // Reading is free: the link is still usable once.
    const started = await useConnectLink(world.runtime, token, 'acme');
    expect(started).toMatchObject({ provider: 'acme', status: 'awaiting_callback' });
    const row = await world.runtime.connections.require(CLIENT, started.connectionId);
    expect(row.connection.endUserId).toBe('user-7');
    expect((await rejection(useConnectLink(world.runtime, token, 'acme'))).code).toBe('CONNECT_LINK_INVALID');
  });

  it('when a link has expired or names another provider, then it is refused and nothing starts', async () => {
    const link = await createConnectLink(world.runtime, CLIENT, { endUserId: 'user-8', providers: ['acme'], expiresInSeconds: 60 });
    const token = new URL(link.url).pathname.split('/').at(-1) ?? '';
    expect((await rejection(useConnectLink(world.runtime, token, 'legacy'))).code).toBe('INVALID_REQUEST');
    world.clock.advance(61_000);
    expect((await rejection(readConnectLink(world.runtime, token))).code).toBe('CONNECT_LINK_INVALID');
    expect((await world.runtime.connections.list(CLIENT, {}, 10)).items).toEqual([]);
  });
});

describe('session binding rules', () => {
  it('when binding is required for a client, then a start without a challenge is refused; a challenge needs a returnTo', async () => {
    const runtime = { settings: { bindingRequiredClients: new Set([CLIENT]) } } as unknown as Pick<Runtime, 'settings'>;
    expect(() => assertBindingRules(runtime, CLIENT, {})).toThrow(expect.objectContaining({ code: 'BINDING_REQUIRED' }));
    expect(() => assertBindingRules(runtime, 'other-client', {})).not.toThrow();
    expect(() => assertBindingRules(runtime, CLIENT, { bindingChallenge: 'c' })).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
    expect(() => assertBindingRules(runtime, CLIENT, { bindingChallenge: 'c', returnTo: 'https://app.example/done' })).not.toThrow();
  });
});

describe('dead-lettered webhooks', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when a delivery is recorded as failed, then it is listed, and a successful redelivery removes it', async () => {
    world.runtime.webhooks = new Map([[CLIENT, { url: `${world.provider.origin}/hooks`, secrets: ['whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ='] }]]);
    const event = { connectionId: 'c1', clientId: CLIENT, provider: 'acme', protocol: 'oauth2' as const, type: 'connection.connected' as const, eventId: 'evt-1', occurredAt: world.clock.now().toISOString() };
    await recordFailedWebhook(world.runtime, { event, attempts: 33, firstAttemptAt: event.occurredAt, lastError: 'receiver answered 500' });
    expect((await listFailedWebhooks(world.runtime)).map((f) => [f.deliveryId, f.attempts])).toEqual([['evt-1', 33]]);

    world.provider.answerWith({ status: 204 });
    expect(await redeliverFailedWebhook(world.runtime, 'evt-1')).toEqual({ deliveryId: 'evt-1', status: 204 });
    expect(world.provider.takeRequests().map((r) => r.headers['webhook-id'])).toEqual([expect.any(String)]);
    expect(await listFailedWebhooks(world.runtime)).toEqual([]);
    expect((await rejection(redeliverFailedWebhook(world.runtime, 'evt-1'))).code).toBe('NOT_FOUND');
  });
});

describe('MCP server onboarding', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when the provider name is not a valid name, then it is refused before anything is fetched', async () => {
    const error = await rejection(addMcpServer(world.runtime, { url: `${world.provider.origin}/mcp`, provider: 'Not Valid' }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when the URL is not an OAuth-protected MCP server, then discovery fails with a BrokerError', async () => {
    world.provider.answerWith({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' });
    const error = await addMcpServer(world.runtime, { url: `${world.provider.origin}/mcp`, provider: 'remote' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BrokerError);
  });
});

describe('refresh metrics', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
  });

  it('when telemetry is on, then each refresh is counted by outcome and its lateness after the due time recorded', async () => {
    const recorded: Array<[string, number, unknown]> = [];
    const telemetry: Telemetry = {
      ...noTelemetry,
      enabled: true,
      count: (metric, value, attributes) => void recorded.push([metric, value, attributes]),
      record: (metric, value, attributes) => void recorded.push([metric, value, attributes]),
    };
    const stored = await seedConnected(world);
    await world.runtime.connections.save(stored, { ...stored.connection, refreshDueAt: new Date(world.clock.ms - 4_000).toISOString() });
    const runtime = { ...world.runtime, telemetry };

    const result = await observedRefresh(runtime, { clientId: CLIENT, connectionId: stored.connection.connectionId }, async () => ({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE' }));

    expect(result).toEqual({ outcome: 'transient', errorCode: 'PROVIDER_UNAVAILABLE' });
    expect(recorded).toEqual([
      [Metrics.refreshLateness, 4, { 'broker.provider': 'acme' }],
      [Metrics.refreshes, 1, { 'broker.provider': 'acme', 'broker.outcome': 'transient' }],
      [Metrics.refreshFailures, 1, { 'broker.provider': 'acme', 'broker.error.code': 'PROVIDER_UNAVAILABLE' }],
    ]);
  });
});
