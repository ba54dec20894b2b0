/**
 * Device authorization grant (RFC 8628) end to end, against oidc-provider's deviceFlow: POST
 * /connections answers the user code; the orchestration polls the token endpoint on durable timers
 * and ends connected (then kept fresh like any connection), denied, expired or revoked; a
 * `slow_down` answer (injected at the token endpoint: oidc-provider never sends one) widens the
 * interval by 5 seconds.
 */
import { completeDeviceConsent, DEVICE_ABORTED, DEVICE_APPROVED } from '../support/oidc/complete-consent';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { scanStorage } from './support/storage-scan';
import { CLIENT_KEY, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

const DEVICE_CLIENT = { clientId: 'device-client', clientSecret: 'device-secret' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** The broker's authorization timeout caps the device code's lifetime: the expiry test waits this long. */
const AUTHORIZATION_TIMEOUT_S = 25;

let world: World;
beforeAll(async () => {
  world = await startWorld({
    authorizationTimeoutSeconds: AUTHORIZATION_TIMEOUT_S,
    extraOidcClients: () => [{
      client_id: DEVICE_CLIENT.clientId,
      client_secret: DEVICE_CLIENT.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [],
      response_types: [],
      grant_types: [DEVICE_GRANT, 'refresh_token'],
      scope: 'openid offline_access read write',
    }],
    extraSettings: (_brokerUrl, providers) => {
      const oidc = providers.oidc as { tokenUrl: string };
      const tv = {
        ...providers.oidc,
        displayName: 'Test OIDC (device)',
        defaultScopes: ['offline_access', 'read'],
        grants: ['device_code'],
        deviceAuthorizationUrl: oidc.tokenUrl.replace(/\/token$/, '/device/auth'),
        ...DEVICE_CLIENT,
      };
      return { BROKER_PROVIDERS: JSON.stringify({ ...providers, tv }) };
    },
  });
});
afterAll(async () => {
  await world?.stop();
});

const api = (method: string, route: string, body?: unknown) => world.broker.request(method, route, { key: CLIENT_KEY, body });

interface StartedDevice {
  connectionId: string;
  verificationUriComplete: string;
  authorizationExpiresAt: string;
}

async function startDevice(): Promise<StartedDevice> {
  const answer = await api('POST', '/api/connections', { provider: 'tv', grant: 'device_code' });
  expect(answer.status).toBe(201);
  return answer.json;
}

test('the start answers the user code; approving it on another device connects, and the token works', async () => {
  const started = await startDevice();
  expect(started).toEqual(expect.objectContaining({
    grant: 'device_code',
    status: 'awaiting_callback',
    userCode: expect.any(String),
    verificationUri: world.oidc.url('/device'),
    verificationUriComplete: expect.stringContaining('user_code='),
    authorizationExpiresAt: expect.any(String),
    interval: 5,
  }));
  expect(started).not.toHaveProperty('deviceCode');
  expect(started).not.toHaveProperty('authorizationUrl');
  expect((await api('GET', `/api/connections/${started.connectionId}`)).json.status).toBe('awaiting_callback');

  expect(await completeDeviceConsent(started.verificationUriComplete, { account: 'erin', approve: true })).toBe(DEVICE_APPROVED);
  await waitForStatus(world, started.connectionId, 'connected', 30_000);
  const view = (await api('GET', `/api/connections/${started.connectionId}`)).json;
  expect(view).toEqual(expect.objectContaining({ grant: 'device_code', scopes: expect.arrayContaining(['read']) }));
  const token = (await api('GET', `/api/connections/${started.connectionId}/token`)).json;
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.accessToken}` } });
  expect(me.status).toBe(200);
  const issued = (await world.oidc.tokenLog()).filter((e) => e.grantType === DEVICE_GRANT && e.outcome === 'ok');
  expect(issued.map((e) => e.accessTokenFingerprint)).toContain(tokenFingerprint(token.accessToken));
  // A refresh token came with it: the connection is kept fresh like any other.
  expect((await api('POST', `/api/connections/${started.connectionId}/refresh`)).status).toBe(200);
  // This provider authorizes by device only: no browser attempt can be made for it.
  const reauthorize = await api('POST', `/api/connections/${started.connectionId}/reauthorize`);
  expect(reauthorize.status).toBe(400);
  expect(reauthorize.json.error.code).toBe('GRANT_NOT_ALLOWED');
  expect((await api('GET', `/api/connections/${started.connectionId}`)).json.status).toBe('connected');
  expect((await api('DELETE', `/api/connections/${started.connectionId}`)).status).toBe(204);
});

test('denying the user code ends the connection denied', async () => {
  const started = await startDevice();
  expect(await completeDeviceConsent(started.verificationUriComplete, { account: 'erin', approve: false })).toBe(DEVICE_ABORTED);
  await waitForStatus(world, started.connectionId, 'denied', 30_000);
  expect((await api('GET', `/api/connections/${started.connectionId}/token`)).status).toBe(409);
});

test('a code nobody approves ends expired at the deadline', async () => {
  const started = await startDevice();
  await waitForStatus(world, started.connectionId, 'expired', (AUTHORIZATION_TIMEOUT_S + 20) * 1000);
  const polls = (await world.oidc.tokenLog()).filter((e) => e.grantType === DEVICE_GRANT);
  expect(polls.length).toBeGreaterThan(0);
  // Every device code polled with so far: none is in storage (rows, durable history, queues) in clear.
  const deviceCodes = new Set(polls.map((e) => e.deviceCodeFingerprint));
  expect(deviceCodes.size).toBeGreaterThan(0);
  const scan = await scanStorage(world.azurite.connectionString);
  expect(scan.tables.length).toBeGreaterThan(0);
  expect([...deviceCodes].filter((code) => code !== undefined && scan.fingerprints.has(code))).toEqual([]);
});

test('DELETE cancels a pending device connection', async () => {
  const started = await startDevice();
  expect((await api('DELETE', `/api/connections/${started.connectionId}`)).status).toBe(204);
  await waitForStatus(world, started.connectionId, 'revoked');
  // The code can still be approved at the provider, but nobody polls for it any more.
  expect(await completeDeviceConsent(started.verificationUriComplete, { account: 'erin', approve: true })).toBe(DEVICE_APPROVED);
  expect((await api('GET', `/api/connections/${started.connectionId}`)).json.status).toBe('revoked');
});

test('slow_down widens the polling interval by 5 seconds', async () => {
  const before = (await world.oidc.tokenLog()).length;
  await world.oidc.setFault({ token: { status: 400, body: JSON.stringify({ error: 'slow_down' }), times: 1 } });
  const started = await startDevice();
  const polls = await eventually(async () => {
    const since = (await world.oidc.tokenLog()).slice(before);
    return since.length >= 2 ? since : undefined;
  }, 30_000, 250);
  expect(polls[0].outcome).toBe('fault:400');
  expect(polls[1].grantType).toBe(DEVICE_GRANT);
  // Durable timers never fire early: after slow_down the next poll waits the widened 10 seconds.
  expect(Date.parse(polls[1].at) - Date.parse(polls[0].at)).toBeGreaterThanOrEqual(10_000 - 250);
  expect((await api('DELETE', `/api/connections/${started.connectionId}`)).status).toBe(204);
});
