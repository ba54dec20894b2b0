/**
 * Health probes end to end (issue 16, item 8): credentials that never expire have no refresh loop to
 * notice a revocation at the provider, so the probe sweep (timer `probeCredentials`, here every two
 * seconds) calls each provider's `verifyUrl` with them. Revoked at the oauthlib provider (OAuth 1.0a)
 * or by revoking the grant at oidc-provider (a long-lived OAuth 2.0 token): the connection becomes
 * `reauth_required` with REVOKED_AT_PROVIDER and its client hears `connection.reauth_required`,
 * before any client call has failed. A working connection stays `connected`.
 */
import { eventually } from './support/broker-host';
import { startWebhookReceiver, WebhookReceiver } from './support/webhook-receiver';
import { CLIENT_KEY, connect, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

const SECRET = 'probe-webhook-secret';
let receiver: WebhookReceiver;
let world: World;

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  world = await startWorld({
    // No expires_in and no refresh loop: the OAuth 2.0 token is long-lived, as some providers' are.
    oidcOptions: { omitExpiresIn: true },
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROBE_SCHEDULE: '*/2 * * * * *',
      BROKER_WEBHOOK_URLS: `app1=${receiver.url}`,
      BROKER_WEBHOOK_SECRETS: `app1=${SECRET}`,
      BROKER_PROVIDERS: JSON.stringify({
        ...providers,
        legacy: { ...providers.legacy, verifyUrl: `${String(providers.legacy.apiBaseUrl)}/account` },
        oidc: { ...providers.oidc, refreshable: false, verifyUrl: `${String(providers.oidc.apiBaseUrl)}/me` },
      }),
    }),
  });
});

afterAll(async () => {
  await world?.stop();
  await receiver?.stop();
});

const view = async (connectionId: string) => (await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json;
const reauthEventFor = (connectionId: string) =>
  eventually(async () => receiver.deliveries().find((d) => d.event.type === 'connection.reauth_required' && d.event.data?.connectionId === connectionId), 30_000, 100);

test('when the OAuth 1.0a provider revokes the token, then the probe makes the connection reauth_required and says so', async () => {
  const revokedId = await connect(world, 'legacy');
  const keptId = await connect(world, 'legacy');
  expect(await view(revokedId)).toMatchObject({ status: 'connected', expiresAt: null });
  const token = (await world.broker.request('GET', `/api/connections/${revokedId}/token`, { key: CLIENT_KEY })).json.oauthToken;

  expect(await world.oauth1.revokeToken(token)).toBe(true);

  await waitForStatus(world, revokedId, 'reauth_required', 30_000);
  expect((await view(revokedId)).error).toMatchObject({ code: 'REVOKED_AT_PROVIDER' });
  expect((await reauthEventFor(revokedId)).verified).toBe(true);
  expect((await world.broker.request('GET', `/api/connections/${revokedId}/token`, { key: CLIENT_KEY })).status).toBe(409);
  // The other connection was probed by the same sweeps and still works.
  expect((await view(keptId)).status).toBe('connected');
  expect((await world.broker.request('GET', `/api/connections/${keptId}/proxy/account`, { key: CLIENT_KEY })).status).toBe(200);
});

test('when the grant of a long-lived OAuth 2.0 token is revoked at the provider, then the probe makes the connection reauth_required', async () => {
  const connectionId = await connect(world, 'oidc');
  expect(await view(connectionId)).toMatchObject({ status: 'connected', expiresAt: null });
  const accessToken = (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).json.accessToken;

  // The user removes the app at the provider: its grant, and so this access token, is revoked.
  const revoked = await fetch(world.oidc.url('/token/revocation'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('broker:broker-secret-basic').toString('base64')}` },
    body: new URLSearchParams({ token: accessToken, token_type_hint: 'access_token' }),
  });
  expect(revoked.status).toBe(200);

  await waitForStatus(world, connectionId, 'reauth_required', 30_000);
  expect((await view(connectionId)).error).toMatchObject({ code: 'REVOKED_AT_PROVIDER' });
  expect((await reauthEventFor(connectionId)).verified).toBe(true);
});
