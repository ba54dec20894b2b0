/**
 * The proxy streams: a 12 MB body goes through to the provider and a 12 MB answer comes back without
 * either being held whole. The provider's API here is a small node:http server (the `oidc` provider's
 * apiBaseUrl) that echoes what it receives as it receives it, counting and hashing both ways.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CLIENT_KEY, connect, startWorld, World } from './support/world';

jest.setTimeout(120_000);

const MB = 1024 * 1024;

interface Received {
  path: string;
  authorization: string | undefined;
  bytes: number;
  sha256: string;
}

let world: World;
let upstream: http.Server;
let upstreamUrl: string;
let connectionId: string;
const received: Received[] = [];

/** Echoes each chunk as it arrives (full duplex); `/api/deny` answers 401 once the body is read. */
function startUpstream(): Promise<void> {
  upstream = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const deny = req.url?.startsWith('/api/deny') ?? false;
    if (!deny) res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'echo' });
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (!deny) res.write(chunk);
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', authorization: req.headers.authorization, bytes, sha256: hash.digest('hex') });
      if (deny) res.writeHead(401, { 'content-type': 'text/plain' }).end('token rejected');
      else res.end();
    });
  });
  return new Promise((resolve) =>
    upstream.listen(0, '127.0.0.1', () => {
      upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  await startUpstream();
  world = await startWorld({
    accessTokenTtlSeconds: 3600,
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROVIDERS: JSON.stringify({ ...providers, oidc: { ...providers.oidc, apiBaseUrl: `${upstreamUrl}/api` } }),
    }),
  });
  connectionId = await connect(world, 'oidc');
});

afterAll(async () => {
  await world?.stop();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Bytes of the answer that arrived while the client still held back all but `headStart` of its body. */
  echoedEarly: number;
}

/**
 * POSTs `payload` through the proxy sending only the first `headStart` bytes, and the rest once the
 * first bytes of the answer are in (or at once when `headStart` is the whole payload). A broker that
 * held either body whole would never answer, and the test would time out.
 */
function postThroughProxy(path: string, payload: Buffer, headStart: number, contentType = 'application/octet-stream'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${world.broker.url}/api/connections/${connectionId}/proxy/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': contentType, 'content-length': String(payload.length) },
    });
    req.on('error', reject);
    let restSent = headStart >= payload.length;
    let echoedEarly = 0;
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (!restSent) {
          echoedEarly += chunk.length;
          restSent = true;
          req.end(payload.subarray(headStart));
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), echoedEarly }));
      res.on('error', reject);
    });
    if (restSent) req.end(payload);
    else req.write(payload.subarray(0, headStart));
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

test('when 12 MB are posted through the proxy, then they reach the provider and its 12 MB answer comes back while the client is still sending, byte for byte', async () => {
  const payload = randomBytes(12 * MB);
  const answer = await postThroughProxy('bulk/upload?part=1', payload, 2 * MB);

  expect(answer.status).toBe(200);
  expect(answer.headers['x-upstream']).toBe('echo');
  expect(answer.echoedEarly).toBeGreaterThan(0);
  expect(answer.echoedEarly).toBeLessThanOrEqual(2 * MB);
  expect(answer.body.length).toBe(payload.length);
  expect(sha256(answer.body)).toBe(sha256(payload));

  const upload = received.find((r) => r.path === '/api/bulk/upload?part=1');
  expect(upload).toMatchObject({ bytes: payload.length, sha256: sha256(payload) });
  expect(upload?.authorization).toMatch(/^Bearer \S+$/);
  expect(upload?.authorization).not.toContain(CLIENT_KEY);
});

test('when a 12 MB form body is posted through an OAuth 2.0 connection, then it streams too (only OAuth 1.0a signs form bodies, so only there are they held whole)', async () => {
  const payload = Buffer.from(`field=${'a'.repeat(12 * MB)}`);
  const answer = await postThroughProxy('bulk/form', payload, 2 * MB, 'application/x-www-form-urlencoded');

  expect(answer.status).toBe(200);
  expect(answer.echoedEarly).toBeGreaterThan(0);
  expect(answer.echoedEarly).toBeLessThanOrEqual(2 * MB);
  expect(sha256(answer.body)).toBe(sha256(payload));
  expect(received.find((r) => r.path === '/api/bulk/form')).toMatchObject({ bytes: payload.length, sha256: sha256(payload) });
});

test('when the provider answers 401 to a body too large to hold for a retry, then the 401 goes back as it is, sent once', async () => {
  const payload = randomBytes(3 * MB);
  const before = (await world.oidc.tokenLog()).length;
  const answer = await postThroughProxy('deny/large', payload, payload.length);

  expect(answer.status).toBe(401);
  expect(answer.body.toString()).toBe('token rejected');
  expect(received.filter((r) => r.path === '/api/deny/large')).toEqual([expect.objectContaining({ bytes: payload.length, sha256: sha256(payload) })]);
  expect((await world.oidc.tokenLog()).length).toBe(before);
});

test('when the provider answers 401 to a small body, then the broker refreshes and sends the same body again', async () => {
  const payload = randomBytes(64 * 1024);
  const answer = await postThroughProxy('deny/small', payload, payload.length);

  // The test upstream refuses every token, so the retried request is refused too.
  expect(answer.status).toBe(401);
  const attempts = received.filter((r) => r.path === '/api/deny/small');
  expect(attempts).toHaveLength(2);
  for (const attempt of attempts) expect(attempt).toMatchObject({ bytes: payload.length, sha256: sha256(payload) });
  expect(attempts[0].authorization).not.toBe(attempts[1].authorization);
});
