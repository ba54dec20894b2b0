/**
 * Quotas and rate limits per client, end to end: over a limit the broker answers 429 with
 * Retry-After and a stable code, and nothing is started (no provider request, no row). Limits are
 * per client: another client is served meanwhile. Settings are set low so the limits are reached
 * with a handful of requests.
 */
import type { HttpAnswer } from './support/broker-host';
import { eventually } from './support/broker-host';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, World } from './support/world';

jest.setTimeout(120_000);

const THIRD_CLIENT_KEY = 'app3-key-0123456789';
const QUOTA_CLIENT_KEY = 'app4-key-0123456789';

let world: World;

beforeAll(async () => {
  world = await startWorld({
    extraSettings: {
      BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY},app2:${OTHER_CLIENT_KEY},app3:${THIRD_CLIENT_KEY},app4:${QUOTA_CLIENT_KEY}`,
      BROKER_MAX_CONNECTIONS_PER_CLIENT: '3',
      BROKER_STARTS_PER_MINUTE: '5',
      BROKER_FORCED_REFRESHES_PER_MINUTE: '2',
      BROKER_PROXY_REQUESTS_PER_SECOND: '5',
    },
  });
});
afterAll(async () => {
  await world?.stop();
});

const api = (method: string, route: string, key: string, body?: unknown) => world.broker.request(method, route, { key, body });

async function connectAs(key: string, provider = 'oidc'): Promise<string> {
  const started = await api('POST', '/api/connections', key, { provider });
  expect(started.status).toBe(201);
  const callback = await api('GET', await consent(world, started.json.authorizationUrl), key);
  expect(callback.status).toBe(200);
  await eventually(async () => ((await api('GET', `/api/connections/${started.json.connectionId}`, key)).json?.status === 'connected' ? true : undefined));
  return started.json.connectionId as string;
}

function expectLimited(answer: HttpAnswer, code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED', setting: string): void {
  expect(answer.status).toBe(429);
  expect(answer.json.error).toMatchObject({ code, limit: setting, message: expect.stringContaining(setting) });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

async function providerRequests() {
  const [token, resource, oauth1] = await Promise.all([world.oidc.tokenLog(), world.oidc.resourceLog(), world.oauth1.log()]);
  return { token: token.length, resource: resource.length, oauth1: oauth1.length };
}

async function listed(key: string): Promise<string[]> {
  const answer = await api('GET', '/api/connections?top=1000', key);
  return (answer.json.items as Array<{ connectionId: string; status: string }>).map((c) => `${c.connectionId}:${c.status}`).sort();
}

test('when a client holds its quota of connections, then a start is refused with 429 QUOTA_EXCEEDED and nothing is made, until one is revoked', async () => {
  const held: string[] = [];
  for (let i = 0; i < 3; i += 1) held.push((await api('POST', '/api/connections', QUOTA_CLIENT_KEY, { provider: 'legacy' })).json.connectionId);
  const before = { rows: await listed(QUOTA_CLIENT_KEY), upstream: await providerRequests() };

  const refused = await api('POST', '/api/connections', QUOTA_CLIENT_KEY, { provider: 'legacy' });

  expectLimited(refused, 'QUOTA_EXCEEDED', 'BROKER_MAX_CONNECTIONS_PER_CLIENT');
  expect({ rows: await listed(QUOTA_CLIENT_KEY), upstream: await providerRequests() }).toEqual(before);
  // Another client is not counted against this one's quota.
  expect((await api('POST', '/api/connections', CLIENT_KEY, { provider: 'oidc' })).status).toBe(201);

  expect((await api('DELETE', `/api/connections/${held[0]}`, QUOTA_CLIENT_KEY)).status).toBe(204);
  await eventually(async () => ((await api('GET', `/api/connections/${held[0]}`, QUOTA_CLIENT_KEY)).json.status === 'revoked' ? true : undefined));
  expect((await api('POST', '/api/connections', QUOTA_CLIENT_KEY, { provider: 'legacy' })).status).toBe(201);
});

describe('limits on a connected connection', () => {
  let connectionId: string;
  beforeAll(async () => {
    connectionId = await connectAs(CLIENT_KEY);
  });

  test('when a connection is force-refreshed more often than its per-minute limit, then the excess is refused with 429 and the provider sees no token request for it', async () => {
    for (let i = 0; i < 2; i += 1) expect((await api('POST', `/api/connections/${connectionId}/refresh`, CLIENT_KEY)).status).toBe(200);
    const before = await providerRequests();

    const refused = await api('POST', `/api/connections/${connectionId}/refresh`, CLIENT_KEY);

    expectLimited(refused, 'RATE_LIMITED', 'BROKER_FORCED_REFRESHES_PER_MINUTE');
    expect(await providerRequests()).toEqual(before);
    // The token is still served.
    expect((await api('GET', `/api/connections/${connectionId}/token`, CLIENT_KEY)).status).toBe(200);
  });

  test('when a client proxies faster than its per-second limit, then the excess is refused with 429 and never reaches the provider', async () => {
    const before = await providerRequests();
    const answers = await Promise.all(Array.from({ length: 30 }, () => api('GET', `/api/connections/${connectionId}/proxy/me`, CLIENT_KEY)));

    const passed = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(passed.length + refused.length).toBe(answers.length);
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) expectLimited(answer, 'RATE_LIMITED', 'BROKER_PROXY_REQUESTS_PER_SECOND');
    expect((await providerRequests()).resource - before.resource).toBe(passed.length);
  });
});

test('when the provider answers 401 to every call, then the proxy refreshes the connection once per interval, not once per call', async () => {
  const connectionId = await connectAs(OTHER_CLIENT_KEY);
  const refreshes = async () => (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token').length;
  const before = await refreshes();
  await world.oidc.setFault({ resource: { times: 6 } });

  const statuses: number[] = [];
  for (let i = 0; i < 4; i += 1) {
    statuses.push((await api('GET', `/api/connections/${connectionId}/proxy/echo/always-401`, OTHER_CLIENT_KEY)).status);
  }

  expect(statuses).toEqual([401, 401, 401, 401]);
  expect((await refreshes()) - before).toBe(1);
  await world.oidc.setFault({ resource: null });
});

test('when a client starts and reauthorizes faster than its per-minute limit, then the excess is refused with 429 RATE_LIMITED before any provider request', async () => {
  const waiting = await api('POST', '/api/connections', THIRD_CLIENT_KEY, { provider: 'legacy' });
  expect(waiting.status).toBe(201);
  const before = await providerRequests();

  const answers: HttpAnswer[] = [];
  for (let i = 0; i < 8; i += 1) answers.push(await api('POST', `/api/connections/${waiting.json.connectionId}/reauthorize`, THIRD_CLIENT_KEY));
  answers.push(await api('POST', '/api/connections', THIRD_CLIENT_KEY, { provider: 'legacy', connectionId: 'after-the-burst' }));

  const admitted = answers.filter((a) => a.status === 200 || a.status === 201);
  const refused = answers.filter((a) => a.status === 429);
  expect(admitted.length + refused.length).toBe(answers.length);
  // Five per minute (one refilled every 12 s), two already spent by this client.
  expect(refused.length).toBeGreaterThanOrEqual(3);
  expect(answers.at(-1)?.status).toBe(429);
  for (const answer of refused) expectLimited(answer, 'RATE_LIMITED', 'BROKER_STARTS_PER_MINUTE');
  // Each admitted start or reauthorization asked the OAuth 1.0a provider for one request token; the refused ones asked nothing.
  expect((await providerRequests()).oauth1 - before.oauth1).toBe(admitted.length);
  expect((await listed(THIRD_CLIENT_KEY)).some((r) => r.startsWith('after-the-burst:'))).toBe(false);
});
