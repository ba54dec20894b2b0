/**
 * Three clients on one broker, one of them flooding (starts, forced refreshes and proxy calls at ten
 * times its limits): the other two are not refused anything while it floods. And a client cannot
 * hold more than its share of the proxy's sockets (a fourth client, untouched by the flood, holds
 * requests open for that). How much slower the others get is a measurement, not an assertion:
 * `npm run bench -- --only isolation` reports their p99 beside a run without the flood.
 */
import http from 'node:http';
import { eventually } from './support/broker-host';
import { flood, politeWorkload } from './support/tenant-traffic';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, World } from './support/world';

jest.setTimeout(180_000);

const FLOODER_KEY = 'app3-key-0123456789';
/** A fourth client that only holds proxied requests open, so the flood's spent rate plays no part. */
const HOLDER_KEY = 'app4-key-0123456789';
const LIMITS = { startsPerMinute: 3, forcedRefreshesPerMinute: 2, proxyRequestsPerSecond: 20 };
const SHARE = 4;

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
      BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY},app2:${OTHER_CLIENT_KEY},app3:${FLOODER_KEY},app4:${HOLDER_KEY}`,
      BROKER_STARTS_PER_MINUTE: String(LIMITS.startsPerMinute),
      BROKER_FORCED_REFRESHES_PER_MINUTE: String(LIMITS.forcedRefreshesPerMinute),
      BROKER_PROXY_REQUESTS_PER_SECOND: String(LIMITS.proxyRequestsPerSecond),
      BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT: String(SHARE),
    },
  });
  for (const key of [CLIENT_KEY, OTHER_CLIENT_KEY, FLOODER_KEY, HOLDER_KEY]) connections[key] = await connectAs(key);
});
afterAll(async () => {
  await world?.stop();
});

test('when one client floods at ten times its limits, then the other two are refused nothing, and the flooder is refused only with 429', async () => {
  const startedMs = Date.now();
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
  // Its refusals are logged once per limit per 10 s window with their count, not one line each.
  const windows = Math.ceil((Date.now() - startedMs) / 10_000) + 1;
  const lines = world.broker.logs().split('\n').filter((line) => line.includes('"code":"RATE_LIMITED"') && line.includes('"clientId":"app3"'));
  const refusals = Object.values(flooded).flat().filter((s) => s === 429).length;
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.length).toBeLessThanOrEqual(3 * windows);
  expect(lines.length).toBeLessThan(refusals);
  expect(lines.every((line) => /"refusedSinceLastLine":\d+/.test(line))).toBe(true);
});

interface HeldPost {
  /** True once the broker answered before the body was finished (it refused the request). */
  answeredEarly(): boolean;
  /** Sends the rest of the body; answers the status the caller got. */
  finish(): Promise<number>;
  /** Ends the request whatever state it is in (teardown: nothing is left open for later tests). */
  destroy(): void;
}

/**
 * A proxied POST whose body is sent only when `finish` is called: the broker reads the whole body
 * before forwarding it, so the request stays in flight until then. Its own agent without
 * keep-alive, so its socket closes when it ends and shares no pool with anything else in the process.
 */
function heldProxyPost(key: string, connectionId: string): HeldPost {
  const agent = new http.Agent({ keepAlive: false });
  const request = http.request(`${world.broker.url}/api/connections/${connectionId}/proxy/echo/held`, {
    method: 'POST',
    agent,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
  });
  let answered = false;
  const status = new Promise<number>((resolve, reject) => {
    request.on('response', (response) => {
      answered = true;
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
  // A request destroyed at teardown rejects; nobody awaits it then, and that must not surface later.
  status.catch(() => undefined);
  request.write('{"part":');
  return {
    answeredEarly: () => answered,
    finish() {
      request.end('1}');
      return status;
    },
    destroy() {
      request.destroy();
      agent.destroy();
    },
  };
}

test("when a client holds its share of the proxy's sockets, then its next call is refused with 429 while another client's call goes through", async () => {
  const mine = connections[HOLDER_KEY];
  const held: HeldPost[] = [];
  try {
    // All are in flight once a further call is refused for the share (the broker counts them when it
    // admits them). A held one that arrived while a probe was in flight was itself refused for the
    // share: it is replaced, and no probe goes with a new one, so in the end the held ones fill it.
    const refused = await eventually(async () => {
      let sent = false;
      for (let i = 0; i < SHARE; i++) {
        if (held[i] && !held[i].answeredEarly()) continue;
        held[i]?.destroy();
        held[i] = heldProxyPost(HOLDER_KEY, mine);
        sent = true;
      }
      if (sent) return undefined;
      const answer = await world.broker.request('GET', `/api/connections/${mine}/proxy/me`, { key: HOLDER_KEY });
      return answer.status === 429 && answer.json.error.limit === 'BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT' ? answer : undefined;
    }, 60_000);
    expect(refused.json.error.code).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    expect((await world.broker.request('GET', `/api/connections/${connections[CLIENT_KEY]}/proxy/me`, { key: CLIENT_KEY })).status).toBe(200);

    expect(await Promise.all(held.map((h) => h.finish()))).toEqual(Array(SHARE).fill(200));
    // The share is given back once the answers have gone out.
    await eventually(async () => ((await world.broker.request('GET', `/api/connections/${mine}/proxy/me`, { key: HOLDER_KEY })).status === 200 ? true : undefined), 60_000);
  } finally {
    for (const h of held) h.destroy();
  }
});
