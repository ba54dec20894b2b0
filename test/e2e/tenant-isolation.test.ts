/**
 * Three clients on one broker, one of them flooding (starts, forced refreshes and proxy calls at ten
 * times its limits): the other two are not refused anything while it floods, and the flooder cannot
 * hold more than its share of the proxy's sockets. How much slower the others get is a measurement,
 * not an assertion: `npm run bench -- --only isolation` reports their p99 beside a run without the
 * flood.
 */
import { eventually } from './support/broker-host';
import { flood, politeWorkload } from './support/tenant-traffic';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, World } from './support/world';

jest.setTimeout(180_000);

const FLOODER_KEY = 'app3-key-0123456789';
const LIMITS = { startsPerMinute: 3, forcedRefreshesPerMinute: 2, proxyRequestsPerSecond: 20 };

let world: World;
const connections: Record<string, string> = {};

async function connectAs(key: string): Promise<string> {
  const started = await world.broker.request('POST', '/api/connections', { key, body: { provider: 'oidc' } });
  expect(started.status).toBe(201);
  expect((await world.broker.request('GET', await consent(world, started.json.authorizationUrl))).status).toBe(200);
  await eventually(async () => ((await world.broker.request('GET', `/api/connections/${started.json.connectionId}`, { key })).json?.status === 'connected' ? true : undefined));
  return started.json.connectionId as string;
}

beforeAll(async () => {
  world = await startWorld({
    extraSettings: {
      BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY},app2:${OTHER_CLIENT_KEY},app3:${FLOODER_KEY}`,
      BROKER_STARTS_PER_MINUTE: String(LIMITS.startsPerMinute),
      BROKER_FORCED_REFRESHES_PER_MINUTE: String(LIMITS.forcedRefreshesPerMinute),
      BROKER_PROXY_REQUESTS_PER_SECOND: String(LIMITS.proxyRequestsPerSecond),
    },
  });
  for (const key of [CLIENT_KEY, OTHER_CLIENT_KEY, FLOODER_KEY]) connections[key] = await connectAs(key);
});
afterAll(async () => {
  await world?.stop();
});

test('when one client floods at ten times its limits, then the other two are refused nothing, and the flooder is refused only with 429', async () => {
  const [flooded, first, second] = await Promise.all([
    flood(world, FLOODER_KEY, connections[FLOODER_KEY], LIMITS),
    politeWorkload(world, CLIENT_KEY, connections[CLIENT_KEY], 8),
    politeWorkload(world, OTHER_CLIENT_KEY, connections[OTHER_CLIENT_KEY], 8),
  ]);

  for (const answer of [...first, ...second]) expect([answer.route, answer.status]).toEqual([answer.route, answer.route === 'start' ? 201 : 200]);
  for (const kind of ['start', 'refresh', 'proxy'] as const) {
    expect(flooded[kind].length).toBe(10 * { start: LIMITS.startsPerMinute, refresh: LIMITS.forcedRefreshesPerMinute, proxy: LIMITS.proxyRequestsPerSecond }[kind]);
    expect(flooded[kind]).toContain(429);
    expect(flooded[kind].filter((s) => s !== 429 && (s < 200 || s >= 300))).toEqual([]);
  }
});
