/**
 * Webhooks end to end: a client app's receiver on loopback hears connected, refresh_failed,
 * reauth_required and revoked for its connection, every delivery signed and free of tokens, and a
 * delivery it refuses is retried with the same event id.
 */
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { startWebhookReceiver, WebhookReceiver } from './support/webhook-receiver';
import { CLIENT_KEY, connect, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(90_000);

const SECRET = 'secret';

let receiver: WebhookReceiver;
let world: World;
beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  world = await startWorld({
    accessTokenTtlSeconds: 5,
    extraSettings: { BROKER_WEBHOOK_URLS: `app1=${receiver.url}`, BROKER_WEBHOOK_SECRETS: `app1=${SECRET}` },
  });
});
afterAll(async () => {
  await world?.stop();
  await receiver?.stop();
});

const deliveriesOf = (type: string) => receiver.deliveries().filter((d) => d.event.type === type);
const waitForDelivery = (type: string, count = 1, timeoutMs = 30_000) =>
  eventually(async () => (deliveriesOf(type).filter((d) => d.answered === 204).length >= count ? true : undefined), timeoutMs, 100);

test('a connection life cycle produces signed, token-free events; a refused delivery is retried with the same event id', async () => {
  // The receiver refuses the first delivery of `connected`: the broker must retry it (backoff from 5 s).
  receiver.failNext('connection.connected', 500);
  const connectionId = await connect(world, 'oidc', { endUserId: 'user-42', metadata: { secretNote: 'never-in-webhooks' } });
  const firstToken = (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).json.accessToken;

  // A transient provider failure on the next refresh: refresh_failed, status stays connected.
  await world.oidc.setFault({ token: { status: 503, times: 1 } });
  await waitForDelivery('connection.refresh_failed');
  // Then the provider refuses the refresh token: reauth_required.
  await world.oidc.setFault({ token: { status: 400, body: JSON.stringify({ error: 'invalid_grant' }), contentType: 'application/json', times: 1 } });
  await waitForDelivery('connection.reauth_required');
  await waitForStatus(world, connectionId, 'reauth_required');

  expect((await world.broker.request('DELETE', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
  await waitForDelivery('connection.revoked');
  await waitForDelivery('connection.connected');

  const all = receiver.deliveries();
  // Every delivery verifies with the broker's own verifyWebhook, and carries its id in the header.
  expect(all.every((d) => d.verified)).toBe(true);
  expect(all.every((d) => d.eventId === d.event.id && /^evt_[0-9a-f]{32}$/.test(d.event.id))).toBe(true);
  // ...and with the standardwebhooks package, its webhook-id being the event id too.
  expect(all.every((d) => d.standardVerified && d.headers['webhook-id'] === d.event.id)).toBe(true);
  expect(all.every((d) => d.headers['webhook-timestamp'] === d.headers['x-broker-timestamp'])).toBe(true);
  expect(all.every((d) => d.headers['content-type'] === 'application/json')).toBe(true);

  // The refused delivery came again with the same event id, signed afresh.
  const connected = deliveriesOf('connection.connected');
  expect(connected.map((d) => d.answered)).toEqual([500, 204]);
  expect(connected[1].event.id).toBe(connected[0].event.id);

  const byType = (type: string) => deliveriesOf(type).find((d) => d.answered === 204)!.event;
  expect(byType('connection.connected').data).toMatchObject({ connectionId, provider: 'oidc', clientId: 'app1', endUserId: 'user-42', status: 'connected' });
  expect(byType('connection.refresh_failed').data).toMatchObject({
    connectionId,
    status: 'connected',
    error: { code: 'PROVIDER_UNAVAILABLE' },
  });
  expect(byType('connection.reauth_required').data).toMatchObject({
    connectionId,
    status: 'reauth_required',
    error: { code: 'OAUTH_INVALID_GRANT' },
  });
  expect(byType('connection.revoked').data).toMatchObject({ connectionId, status: 'revoked' });
  // Each event type once (besides the retry), in the order things happened.
  const firsts = [...new Map(all.map((d) => [d.event.id, d.event])).values()];
  expect(firsts.map((e) => e.type).sort()).toEqual(
    ['connection.connected', 'connection.reauth_required', 'connection.refresh_failed', 'connection.revoked'].sort(),
  );

  // No token, secret or metadata in any payload: compare against every token the provider issued.
  const issued = (await world.oidc.tokenLog()).flatMap((e) => [e.accessTokenFingerprint, e.issuedRefreshTokenFingerprint, e.idTokenFingerprint]);
  const words = all.flatMap((d) => d.rawBody.match(/[A-Za-z0-9_.~+/-]{16,}/g) ?? []);
  expect(words.map(tokenFingerprint).filter((f) => issued.includes(f))).toEqual([]);
  for (const d of all) {
    expect(d.rawBody).not.toContain(firstToken);
    expect(d.rawBody).not.toContain('never-in-webhooks');
    expect(d.rawBody).not.toMatch(/access_?token|refresh_?token|secret/i);
  }
});
