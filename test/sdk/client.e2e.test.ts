/**
 * The SDK against the real broker on the local host (Azurite, oidc-provider, oauthlib): a
 * connection's whole life through the client, each answer held to the OpenAPI schema its SDK type
 * is generated from, the token helper's cache, the proxy, the error class's stable codes, and the
 * broker's real webhook deliveries verified by the SDK's helper.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BrokerClient, constructWebhookEvent, isOAuth2Token, verifyWebhook } from '../../sdk/src';
import { OpenApiDocument, renderClientTypes } from '../../sdk/codegen/render-types';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';
import { eventually } from '../e2e/support/broker-host';
import { startWebhookReceiver, WebhookReceiver } from '../e2e/support/webhook-receiver';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, World } from '../e2e/support/world';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { rejection } from './support/rejection';
import { schemaErrors } from './support/schema-errors';

jest.setTimeout(90_000);

const WEBHOOK_SECRET = 'sdk-webhook-secret-0123';

let receiver: WebhookReceiver;
let world: World;
beforeAll(async () => {
  receiver = await startWebhookReceiver(WEBHOOK_SECRET);
  world = await startWorld({ extraSettings: { BROKER_WEBHOOK_URLS: `app1=${receiver.url}`, BROKER_WEBHOOK_SECRETS: `app1=${WEBHOOK_SECRET}` } });
});
afterAll(async () => {
  await world?.stop();
  await receiver?.stop();
});

/** A client whose requests are counted and whose clock the test can move ahead. */
function sdkClient(apiKey = CLIENT_KEY) {
  const sent: string[] = [];
  let aheadMs = 0;
  const client = new BrokerClient({
    baseUrl: world.broker.url,
    apiKey,
    now: () => Date.now() + aheadMs,
    fetch: (input, init) => {
      sent.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  });
  return { client, sent, moveClockTo: (atMs: number) => (aheadMs = atMs - Date.now()) };
}

function expectSchema(value: unknown, schemaName: string): void {
  expect(schemaErrors(value, { $ref: `#/components/schemas/${schemaName}` }, OPENAPI_DOCUMENT as never)).toEqual([]);
}


/** The end user's part: consent at the provider, then the browser lands on the broker's callback. */
async function endUserApproves(authorizationUrl: string): Promise<void> {
  const callback = await consent(world, authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  if (answer.status !== 200 && answer.status !== 302) throw new Error(`callback failed: ${answer.status} ${answer.text}`);
}

const untilStatus = (client: BrokerClient, connectionId: string, status: string) =>
  eventually(async () => {
    const connection = await client.getConnection(connectionId);
    return connection.status === status ? connection : undefined;
  });

test('an OAuth 2.0 connection through the SDK: start, consent, read, cached token, proxy, list, refresh, revoke, then CONNECTION_REVOKED', async () => {
  const { client, sent, moveClockTo } = sdkClient();

  const providers = await client.listProviders();
  expectSchema(providers, 'ProviderList');
  expect(providers.items.map((p) => p.name)).toEqual(expect.arrayContaining(['oidc', 'legacy']));

  const started = await client.startConnection({ provider: 'oidc', endUserId: 'sdk-user', metadata: { team: 'sdk' } });
  expectSchema(started, 'StartedConnection');
  expect(started.status).toBe('awaiting_callback');
  const pending = await rejection(client.tokens.get(started.connectionId));
  expect(pending).toMatchObject({ code: 'CONNECTION_NOT_CONNECTED', status: 409 });

  await endUserApproves(started.authorizationUrl);
  const connected = await untilStatus(client, started.connectionId, 'connected');
  expectSchema(connected, 'Connection');
  expect(connected).toMatchObject({ connectionId: started.connectionId, provider: 'oidc', protocol: 'oauth2', endUserId: 'sdk-user', metadata: { team: 'sdk' } });

  // The token helper: one request however often it is asked, until 30 s before expiresAt.
  const asked = sent.length;
  const tokenRequests = () => sent.slice(asked).filter((s) => s === `GET /api/connections/${started.connectionId}/token`).length;
  const token = await client.tokens.get(started.connectionId);
  expectSchema(token, 'Token');
  if (!isOAuth2Token(token)) throw new Error('an OAuth 2.0 connection answered an OAuth 1.0a token');
  expect(await client.tokens.get(started.connectionId)).toEqual(token);
  expect(tokenRequests()).toBe(1);
  const issued = (await world.oidc.tokenLog()).map((e) => e.accessTokenFingerprint);
  expect(issued).toContain(tokenFingerprint(token.accessToken));
  moveClockTo(Date.parse(token.expiresAt!) - 30_000);
  await client.tokens.get(started.connectionId);
  expect(tokenRequests()).toBe(2);
  moveClockTo(Date.now());

  // The proxy: the provider sees the connection's bearer, the path and query as given.
  const proxied = await client.proxy(started.connectionId, 'echo/sdk/items?page=2', { headers: { 'x-trace': 'sdk' } });
  expect(proxied.status).toBe(200);
  const echoed = (await proxied.json()) as { headers: Record<string, string> };
  expect(echoed).toMatchObject({ method: 'GET', rawPath: '/api/echo/sdk/items', query: '?page=2' });
  expect(echoed.headers).toMatchObject({ authorization: `Bearer ${token.accessToken}`, 'x-trace': 'sdk' });
  const missing = await client.proxy(started.connectionId, 'no-such-endpoint');
  expect(missing.status).toBe(404);

  const page = await client.listConnections({ provider: 'oidc', endUserId: 'sdk-user' });
  expectSchema(page, 'ConnectionPage');
  expect(page.items.map((c) => c.connectionId)).toEqual([started.connectionId]);
  const all: string[] = [];
  for await (const connection of client.connections({ endUserId: 'sdk-user', top: 1 })) all.push(connection.connectionId);
  expect(all).toEqual([started.connectionId]);

  // A forced refresh drops the cached token: the next one is the refreshed token.
  const refreshed = await client.refreshConnection(started.connectionId);
  expectSchema(refreshed, 'Connection');
  expect(refreshed.lastRefreshedAt).not.toBeNull();
  const afterRefresh = await client.tokens.get(started.connectionId);
  expect(isOAuth2Token(afterRefresh) && afterRefresh.accessToken).not.toBe(token.accessToken);

  await client.revokeConnection(started.connectionId);
  expect((await client.getConnection(started.connectionId)).status).toBe('revoked');
  const revoked = await rejection(client.tokens.get(started.connectionId));
  expect(revoked).toMatchObject({ name: 'BrokerApiError', code: 'CONNECTION_REVOKED', status: 410 });
  expect(revoked.message).toBeTruthy();
  await expect(client.reauthorizeConnection(started.connectionId)).rejects.toMatchObject({ code: 'CONNECTION_REVOKED', status: 410 });
  await expect(client.proxy(started.connectionId, 'echo/after-revoke')).resolves.toHaveProperty('status', 410);

  // The broker's real deliveries for this connection verify with the SDK's helper, and only with the right secret.
  const deliveries = await eventually(async () => {
    const mine = receiver.deliveries().filter((d) => d.event.data.connectionId === started.connectionId && d.answered === 204);
    return ['connection.connected', 'connection.revoked'].every((type) => mine.some((d) => d.event.type === type)) ? mine : undefined;
  }, 30_000);
  for (const delivery of deliveries) {
    expect(verifyWebhook(delivery.rawBody, delivery.headers, { secret: WEBHOOK_SECRET })).toBe(true);
    expect(constructWebhookEvent(Buffer.from(delivery.rawBody), delivery.headers, { secret: ['rotated-out', WEBHOOK_SECRET] }).id).toBe(delivery.eventId);
    expect(verifyWebhook(delivery.rawBody, delivery.headers, { secret: 'another-secret' })).toBe(false);
    expect(verifyWebhook(delivery.rawBody.replace(started.connectionId, 'someone-else'), delivery.headers, { secret: WEBHOOK_SECRET })).toBe(false);
    expect(verifyWebhook(delivery.rawBody, delivery.headers, { secret: WEBHOOK_SECRET, now: () => delivery.at + 301_000 })).toBe(false);
  }
});

test('an OAuth 1.0a connection through the SDK: its token pair, then reauthorize and consent again for a new one', async () => {
  const { client } = sdkClient();
  const started = await client.startConnection({ provider: 'legacy' });
  await endUserApproves(started.authorizationUrl);
  await untilStatus(client, started.connectionId, 'connected');

  const first = await client.tokens.get(started.connectionId);
  expectSchema(first, 'Token');
  expect(isOAuth2Token(first)).toBe(false);
  expect(first).toEqual({ oauthToken: expect.any(String), oauthTokenSecret: expect.any(String) });

  const again = await client.reauthorizeConnection(started.connectionId);
  expectSchema(again, 'StartedConnection');
  expect(again.authorizationUrl).not.toBe(started.authorizationUrl);
  await endUserApproves(again.authorizationUrl);
  await eventually(async () => {
    const token = await client.tokens.get(started.connectionId).catch(() => undefined);
    return token && !isOAuth2Token(token) && token.oauthToken !== (first as { oauthToken: string }).oauthToken ? token : undefined;
  });
});

test('a wrong key is UNAUTHORIZED (401), another client’s connection CONNECTION_NOT_FOUND (404), a bad request names its code', async () => {
  const wrong = sdkClient('not-a-client-key').client;
  expect(await rejection(wrong.listProviders())).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
  expect(await rejection(wrong.tokens.get('anything'))).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });

  const { client } = sdkClient();
  const mine = await client.startConnection({ provider: 'oidc' });
  const other = sdkClient(OTHER_CLIENT_KEY).client;
  expect(await rejection(other.getConnection(mine.connectionId))).toMatchObject({ code: 'CONNECTION_NOT_FOUND', status: 404 });
  expect(await rejection(client.startConnection({ provider: 'no-such-provider' }))).toMatchObject({ code: 'UNKNOWN_PROVIDER', status: 400 });
  expect(await rejection(client.startConnection({ provider: 'oidc', connectionId: mine.connectionId }))).toMatchObject({ code: 'CONNECTION_EXISTS', status: 409 });
});

test('connections() walks every page by its continuation', async () => {
  const { client, sent } = sdkClient();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await client.startConnection({ provider: 'oidc', endUserId: 'pager' })).connectionId);
  const walked: string[] = [];
  for await (const connection of client.connections({ endUserId: 'pager', top: 2 })) walked.push(connection.connectionId);
  expect(walked.sort()).toEqual(ids.sort());
  expect(sent.filter((s) => s === 'GET /api/connections')).toHaveLength(2);
});

test("the README's five-line SDK quick start runs as written, on the built package", async () => {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const block = /<!-- sdk-quick-start[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no sdk-quick-start block');
  const lines = block.trimEnd().split('\n');
  expect(lines).toHaveLength(5);
  expect(lines[0]).toBe("import { BrokerClient } from '@durable-oauth-broker/client';");
  // The world's broker, key and provider stand in for npm start's; the comment line is the end user's part.
  const program = lines
    .slice(1)
    .join('\n')
    .replace("'http://localhost:7071'", JSON.stringify(world.broker.url))
    .replace("'demo-client-key-change-me'", JSON.stringify(CLIENT_KEY))
    .replace("provider: 'demo'", "provider: 'oidc'")
    .replace(/^\/\/ .*$/m, "await endUserApproves(authorizationUrl); await untilStatus(broker, connectionId, 'connected');");
  const sdkManifest = path.resolve(__dirname, '../../sdk/package.json');
  const { BrokerClient: BuiltClient } = require(path.join(path.dirname(sdkManifest), JSON.parse(readFileSync(sdkManifest, 'utf8')).main));
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
  const run = new AsyncFunction('BrokerClient', 'endUserApproves', 'untilStatus', `${program}\nreturn { connectionId, me };`);
  const { connectionId, me } = await run(BuiltClient, endUserApproves, untilStatus);
  expect(me).toMatchObject({ sub: 'alice', clientId: 'broker', method: 'GET' });
  expect((await sdkClient().client.getConnection(connectionId)).status).toBe('connected');
});

test('the document the broker serves at /api/openapi.json generates exactly the SDK’s committed types', async () => {
  const served = await (await fetch(`${world.broker.url}/api/openapi.json`)).json();
  expect(renderClientTypes(served as OpenApiDocument)).toBe(readFileSync(path.resolve(__dirname, '../../sdk/src/generated/openapi.ts'), 'utf8'));
});
