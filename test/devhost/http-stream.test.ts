/**
 * HTTP stream mode: an app that calls `app.setup({ enableHttpStream: true })` gets its requests through
 * the programming model's own HTTP endpoint, bodies streamed both ways.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { ensureBuilt, prepareFixtureApp, removeDir, spawnHost, type HostProcess } from './support';

let host: HostProcess;
let appDir: string;

beforeAll(async () => {
  ensureBuilt();
  appDir = prepareFixtureApp({}, 'fixture-stream-app');
  host = await spawnHost(appDir, {});
}, 60_000);

afterAll(async () => {
  await host?.kill('SIGTERM');
  if (appDir) removeDir(appDir);
});

const MB = 1024 * 1024;

test('when a 12 MB body is posted, then the echo starts coming back before the client sends past the first megabyte, and both directions match byte for byte', async () => {
  const payload = randomBytes(12 * MB);
  // The client holds back 11 MB until echoed bytes arrive: a host that buffered either body whole
  // would never answer, and the test would time out.
  const result = await new Promise<{ status: number; header: string | undefined; received: Buffer; echoedBeforeRest: number }>((resolve, reject) => {
    const req = http.request(`${host.url}/api/echo-stream`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(payload.length) } });
    req.on('error', reject);
    let restSent = false;
    let echoedBeforeRest = 0;
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (!restSent) {
          echoedBeforeRest += c.length;
          restSent = true;
          req.end(payload.subarray(MB));
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, header: res.headers['x-echo'] as string | undefined, received: Buffer.concat(chunks), echoedBeforeRest }));
      res.on('error', reject);
    });
    req.write(payload.subarray(0, MB));
  });
  expect(result.status).toBe(201);
  expect(result.header).toBe('yes');
  expect(result.echoedBeforeRest).toBeGreaterThan(0);
  expect(result.echoedBeforeRest).toBeLessThanOrEqual(MB);
  expect(result.received.length).toBe(payload.length);
  const sha = createHash('sha256').update(payload).digest('hex');
  expect(createHash('sha256').update(result.received).digest('hex')).toBe(sha);

  // The function read the request as a stream: many chunks, none of them the whole body.
  const stats = (await (await fetch(`${host.url}/api/echo-stats`)).json()) as { chunks: number; maxChunk: number; bytes: number; sha256: string };
  expect(stats.bytes).toBe(payload.length);
  expect(stats.sha256).toBe(sha);
  expect(stats.chunks).toBeGreaterThan(1);
  expect(stats.maxChunk).toBeLessThan(payload.length);
}, 60_000);

test('route params, query, headers, cookies and the raw target reach a stream-mode function', async () => {
  const res = await fetch(`${host.url}/api/describe/7/bob?q=1&q=2`, { method: 'PUT', headers: { 'x-test': 'hello' }, body: 'small body' });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-kind')).toBe('describe');
  expect(res.headers.get('x-ms-invocation-id')).toBeNull();
  expect(res.headers.get('set-cookie')).toContain('seen=1');
  expect(await res.json()).toEqual({
    id: '7',
    name: 'bob',
    method: 'PUT',
    url: `${host.url}/api/describe/7/bob?q=1&q=2`,
    q: ['1', '2'],
    header: 'hello',
    unencoded: '/api/describe/7/bob?q=1&q=2',
    text: 'small body',
  });
});

function rawGet(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A path given as `path` is sent as it is (a URL string would have its dot segments resolved).
    http
      .get({ host: '127.0.0.1', port: host.port, path: target }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('the canonical path is routed and the target as sent travels in X-WAWS-Unencoded-URL in stream mode too', async () => {
  // As behind App Service's front end: `x/../y` resolves to `y` before routing.
  const resolved = await rawGet('/api/describe/1/x/../y?q=a');
  expect(resolved.status).toBe(200);
  expect(JSON.parse(resolved.body)).toMatchObject({ id: '1', name: 'y', url: `${host.url}/api/describe/1/y?q=a`, unencoded: '/api/describe/1/x/../y?q=a', q: ['a'] });
  // `1/..` resolves away the required id: no route matches.
  expect((await rawGet('/api/describe/1/..?q=a')).status).toBe(404);
});

test('a stream-mode function that returns nothing answers 204, and one that throws answers 500', async () => {
  expect((await fetch(`${host.url}/api/nothing`)).status).toBe(204);
  expect((await fetch(`${host.url}/api/fails`)).status).toBe(500);
  // The host keeps serving afterwards.
  expect((await fetch(`${host.url}/api/nothing`)).status).toBe(204);
});

test('a small stream-mode answer keeps its framing (chunked, no Content-Length) and the client connection stays usable for the next request', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<{ reused: boolean; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.get(`${host.url}/api/describe/3/ann?q=x`, { agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ reused: req.reusedSocket, headers: res.headers, body }));
      });
      req.on('error', reject);
    });
  try {
    const first = await get();
    const second = await get();
    for (const answer of [first, second]) {
      expect(answer.headers['transfer-encoding']).toBe('chunked');
      expect(answer.headers['content-length']).toBeUndefined();
      expect(answer.headers['x-kind']).toBe('describe');
      expect(JSON.parse(answer.body)).toMatchObject({ id: '3', name: 'ann', method: 'GET', q: ['x'] });
    }
    expect(second.reused).toBe(true);
  } finally {
    agent.destroy();
  }
});
