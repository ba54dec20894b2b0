/**
 * The signing proxy end to end: OAuth 1.0a requests signed for the oauthlib provider, OAuth 2.0
 * bearer requests to oidc-provider's resource endpoints, status pass-through, the 401 → refresh →
 * retry path, and path-escape / header-injection attempts refused before anything is sent upstream.
 */
import { TableClient } from '@azure/data-tables';
import { connect as netConnect } from 'node:net';
import { spreadPartitionKey } from '../../src/storage/connection-keys';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { CLIENT_KEY, connect, startWorld, World } from './support/world';

jest.setTimeout(90_000);

let world: World;
let oidcId: string;
let legacyId: string;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 3600 });
  [oidcId, legacyId] = await Promise.all([connect(world, 'oidc'), connect(world, 'legacy')]);
});
afterAll(async () => {
  await world?.stop();
});

const proxy = (connectionId: string, rest: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
  world.broker.request(init.method ?? 'GET', `/api/connections/${connectionId}/proxy/${rest}`, {
    key: CLIENT_KEY,
    body: init.body,
    headers: init.headers,
  });

interface RawAnswer {
  status: number;
  body: string;
}

/**
 * Sends bytes as typed, on a fresh socket: fetch (undici) would resolve `..` and `%2e` and refuse
 * control characters before the broker ever saw them.
 */
function rawRequest(head: string, body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(world.broker.port, '127.0.0.1', () => socket.write(Buffer.from(`${head}\r\n${body}`, 'latin1')));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, headEnd).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const body = raw.subarray(headEnd + 4);
      // Streamed answers (the app runs in HTTP stream mode) come chunked.
      resolve({ status, body: (/\r\ntransfer-encoding: *chunked/i.test(head) ? dechunk(body) : body).toString('utf8') });
    });
  });
}

/** The payload of a `Transfer-Encoding: chunked` body (RFC 9112 §7.1). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

function rawGet(target: string, extraHeaderLines = ''): Promise<RawAnswer> {
  return rawRequest(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${world.broker.port}\r\nAuthorization: Bearer ${CLIENT_KEY}\r\n${extraHeaderLines}Connection: close\r\n`,
  );
}

/** Everything both providers have seen so far, as counts (any growth means something was sent). */
async function upstreamSeen() {
  const [resource, token, revocation, oauth1] = await Promise.all([
    world.oidc.resourceLog(),
    world.oidc.tokenLog(),
    world.oidc.revocationLog(),
    world.oauth1.log(),
  ]);
  return { resource: resource.length, token: token.length, revocation: revocation.length, oauth1: oauth1.length };
}

describe('OAuth 1.0a (legacy): signed requests accepted by the oauthlib provider', () => {
  test('a signed GET with a query reaches the resource with its method, path and query', async () => {
    const answer = await proxy(legacyId, "items/%40me/a%20b?b=2&a=1&a=3&q=x+y&r=%21%2A%27%28%29&empty=");
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      method: 'GET',
      path: '/api/items/%40me/a%20b',
      query: [['b', '2'], ['a', '1'], ['a', '3'], ['q', 'x y'], ['r', "!*'()"], ['empty', '']],
      consumerKey: 'brokerConsumerKey00001',
      signatureMethod: 'HMAC-SHA1',
    });
    const last = (await world.oauth1.log()).at(-1);
    expect(last).toMatchObject({ method: 'GET', path: '/api/items/%40me/a%20b', status: 200, oauthIn: 'header' });
  });

  test('a signed POST with a form body has its form parameters signed and seen', async () => {
    const answer = await proxy(legacyId, 'statuses/update?via=broker', {
      method: 'POST',
      body: 'status=hello%20world&tag=a&tag=b&emoji=%E2%9C%93',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      method: 'POST',
      path: '/api/statuses/update',
      query: [['via', 'broker']],
      form: [['status', 'hello world'], ['tag', 'a'], ['tag', 'b'], ['emoji', '✓']],
    });
  });

  test("the provider's own status and body come back unchanged (a 404 stays 404)", async () => {
    await world.oauth1.setFault({ resource: { status: 404, body: '{"error":"no such item"}', contentType: 'application/json' } });
    const answer = await proxy(legacyId, 'items/missing');
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: 'no such item' });
    expect(answer.headers.get('x-broker-error')).toBeNull();
  });
});

describe('OAuth 2.0 (oidc): bearer requests to the resource endpoints', () => {
  test("a GET carries the connection's bearer and never the caller's own credentials", async () => {
    const token = (await world.broker.request('GET', `/api/connections/${oidcId}/token`, { key: CLIENT_KEY })).json.accessToken;
    const answer = await proxy(oidcId, 'echo/things/%40me?x=1&y=a%20b', {
      headers: {
        'x-api-key': CLIENT_KEY,
        cookie: 'session=caller-cookie',
        'proxy-authorization': 'Basic Y2FsbGVyOnNlY3JldA==',
        'x-forwarded-for': '10.0.0.1',
        'x-custom': 'kept',
        accept: 'application/json',
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ method: 'GET', rawPath: '/api/echo/things/%40me', query: '?x=1&y=a%20b', body: '' });
    const seen = answer.json.headers as Record<string, string>;
    expect(seen.authorization).toBe(`Bearer ${token}`);
    expect(seen['x-custom']).toBe('kept');
    expect(seen.host).toBe(`127.0.0.1:${world.oidc.port}`);
    for (const name of ['x-api-key', 'cookie', 'proxy-authorization', 'x-forwarded-for']) expect(seen[name]).toBeUndefined();
    expect(JSON.stringify(seen)).not.toContain(CLIENT_KEY);
    expect(JSON.stringify(seen)).not.toContain('caller-cookie');
  });

  test('a POST with a JSON body arrives byte for byte, with its content type', async () => {
    const body = JSON.stringify({ name: 'Zoë', list: [1, 2, 3], nested: { ok: true } });
    const answer = await proxy(oidcId, 'echo/records', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ method: 'POST', path: '/api/echo/records', body });
    expect(answer.json.headers['content-type']).toBe('application/json');
    expect(answer.json.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  test("the provider's 404 for an unknown path stays 404", async () => {
    const answer = await proxy(oidcId, 'no-such-endpoint');
    expect(answer.status).toBe(404);
    expect(answer.headers.get('x-broker-error')).toBeNull();
  });

  test('credentials smuggled in as extra header lines, hop-by-hop headers and those named in Connection are not forwarded', async () => {
    const answer = await rawGet(
      `/api/connections/${oidcId}/proxy/echo/split`,
      'X-Note: a\r\nCookie: injected=1\r\nX-Api-Key: injected-key\r\nX-Hop: hop\r\nKeep-Alive: timeout=5\r\nConnection: x-hop\r\n',
    );
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body).headers as Record<string, string>;
    expect(seen['x-note']).toBe('a');
    // Hop-by-hop headers and those the caller's Connection header names stay on the caller's hop.
    expect(seen['x-hop']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-api-key']).toBeUndefined();
    expect(seen.authorization).toMatch(/^Bearer /);
  });

  test('when the provider rejects a still-valid token with 401, the broker refreshes once and the retry succeeds', async () => {
    const connectionId = await connect(world, 'oidc');
    const old = (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).json.accessToken;
    const refreshesBefore = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === 'broker');
    await world.oidc.setFault({ resource: { times: 1 } });

    const answer = await proxy(connectionId, 'echo/retried-after-401');

    expect(answer.status).toBe(200);
    const refreshes = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === 'broker');
    expect(refreshes.slice(refreshesBefore.length).map((e) => e.outcome)).toEqual(['ok']);
    const attempts = (await world.oidc.resourceLog()).filter((e) => e.path === '/api/echo/retried-after-401');
    expect(attempts.map((e) => e.authorized)).toEqual([false, true]);
    expect(attempts[0].tokenFingerprint).toBe(tokenFingerprint(old));
    expect(attempts[1].tokenFingerprint).not.toBe(tokenFingerprint(old));
  });

  // oidc-provider 9 revokes every token of the grant when one of them is revoked, so the refresh
  // after the 401 is refused too: the broker tries exactly once, then hands back the provider's 401.
  test('when the provider answers 401, the broker refreshes once; when that refresh is refused, the provider\'s 401 comes back', async () => {
    const connectionId = await connect(world, 'oidc');
    const old = (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).json.accessToken;
    const revoked = await fetch(world.oidc.url('/token/revocation'), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from('broker:broker-secret-basic').toString('base64')}`,
      },
      body: new URLSearchParams({ token: old, token_type_hint: 'access_token' }).toString(),
    });
    expect(revoked.status).toBe(200);
    const refreshesBefore = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === 'broker');

    const answer = await proxy(connectionId, 'echo/after-401');

    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: 'invalid_token' });
    expect(answer.headers.get('www-authenticate')).toContain('invalid_token');
    const refreshes = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === 'broker');
    expect(refreshes.slice(refreshesBefore.length).map((e) => e.outcome)).toEqual(['invalid_grant']);
    const attempts = (await world.oidc.resourceLog()).filter((e) => e.path === '/api/echo/after-401');
    expect(attempts.map((e) => [e.authorized, e.tokenFingerprint])).toEqual([[false, tokenFingerprint(old)]]);
    const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
    expect(view.json.status).toBe('reauth_required');
  });
});

describe('the proxy forwards an allow-list of headers and keeps the broker\'s own namespace', () => {
  test("the platform's keys and sign-in headers in front of the broker never reach the provider", async () => {
    const answer = await rawGet(
      `/api/connections/${oidcId}/proxy/echo/platform-headers`,
      [
        'x-functions-key: functions-host-key',
        'X-MS-CLIENT-PRINCIPAL: eyJ1c2VyIjoiYWRhIn0=',
        'X-MS-CLIENT-PRINCIPAL-ID: ada-principal-id',
        'X-MS-CLIENT-PRINCIPAL-NAME: ada@example.com',
        'X-MS-TOKEN-AAD-ID-TOKEN: eyJhbGciOi.aad-id-token',
        'X-MS-TOKEN-AAD-ACCESS-TOKEN: eyJhbGciOi.aad-access-token',
        'X-Azure-ClientIP: 203.0.113.9',
        'Disguised-Host: broker.azurewebsites.net',
        'X-HTTP-Method-Override: DELETE',
        'Origin: https://app.example',
        'X-Request-Id: kept-1',
        '',
      ].join('\r\n'),
    );
    expect(answer.status).toBe(200);
    const seen = JSON.parse(answer.body).headers as Record<string, string>;
    expect(seen['x-request-id']).toBe('kept-1');
    for (const name of Object.keys(seen)) expect(name).not.toMatch(/^(x-functions-|x-ms-|x-azure-|disguised-host|x-http-method-override|origin)/);
    for (const value of ['functions-host-key', 'ada-principal-id', 'aad-id-token', 'aad-access-token', 'ada@example.com']) {
      expect(JSON.stringify(seen)).not.toContain(value);
    }
  });

  test("the provider's cookies and any x-broker-* header it sends stay with the broker", async () => {
    const answer = await proxy(oidcId, 'echo/cookies?upstream-headers=1');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-provider-note')).toBe('kept');
    expect(answer.headers.get('set-cookie')).toBeNull();
    expect(answer.headers.get('x-broker-error')).toBeNull();
  });
});

test('when another host revoked the connection, the proxy refuses at once although this host cached its token', async () => {
  const connectionId = await connect(world, 'oidc');
  expect((await proxy(connectionId, 'echo/warm-the-cache')).status).toBe(200);
  // What the other host's revoke activity writes: the status (its credentials erasure is beside the point).
  const table = TableClient.fromConnectionString(world.azurite.connectionString, 'BrokerConnections', { allowInsecureConnection: true });
  await table.updateEntity({ partitionKey: spreadPartitionKey('app1', connectionId), rowKey: connectionId, status: 'revoked' }, 'Merge');
  const before = await upstreamSeen();

  const answer = await proxy(connectionId, 'echo/after-revoke');

  expect({ status: answer.status, code: answer.json.error?.code }).toEqual({ status: 410, code: 'CONNECTION_REVOKED' });
  expect(await upstreamSeen()).toEqual(before);
});

/** [name, path after /proxy/ exactly as sent] */
const PATH_ATTEMPTS: Array<[string, string]> = [
  ['raw ".." segment', 'echo/a/b/c/../me'],
  ['raw "." segment', 'echo/a/b/c/./me'],
  ['encoded "%2e%2e"', 'echo/a/b/c/%2e%2e/me'],
  ['upper-case "%2E%2E"', 'echo/a/b/c/%2E%2E/me'],
  ['mixed ".%2e"', 'echo/a/b/c/.%2e/me'],
  ['mixed "%2e."', 'echo/a/b/c/%2e./me'],
  ['encoded single "%2e"', 'echo/a/b/c/%2e/me'],
  ['double-encoded "%252e%252e"', 'echo/a/b/c/%252e%252e/me'],
  ['triple-encoded "%25252e%25252e"', 'echo/a/b/c/%25252e%25252e/me'],
  ['nested "%%32%65%%32%65"', 'echo/a/b/c/%%32%65%%32%65/me'],
  ['overlong UTF-8 "%c0%ae%c0%ae"', 'echo/a/b/c/%c0%ae%c0%ae/me'],
  ['dots with a trailing encoded space "..%20"', 'echo/a/b/c/..%20/me'],
  ['dots around a space ".. ."', 'echo/a/b/c/..%20./me'],
  ['dots with a trailing NBSP "..%C2%A0"', 'echo/a/b/c/..%C2%A0/me'],
  ['NTFS stream "..::$DATA"', 'echo/a/b/c/..::$DATA/me'],
  ['IIS "%u002e%u002e"', 'echo/a/b/c/%u002e%u002e/me'],
  ['IIS mixed ".%u002e"', 'echo/a/b/c/.%u002e/me'],
  ['IIS "%u002e%u002e"', 'echo/a/b/c/%u002e%u002e/me'],
  ['fullwidth dots "%ef%bc%8e%ef%bc%8e"', 'echo/a/b/c/%ef%bc%8e%ef%bc%8e/me'],
  ['servlet "..;x"', 'echo/a/b/c/..;x/me'],
  ['encoded servlet "%2e%2e%3bx"', 'echo/a/b/c/%2e%2e%3bx/me'],
  ['three dots "..."', 'echo/a/b/c/.../me'],
  ['encoded slash "..%2f"', 'echo/a/b/..%2f..%2fme'],
  ['upper-case encoded slash "%2F"', 'echo/a%2Fb'],
  ['double-encoded slash "%252f"', 'echo/a%252f..%252fme'],
  ['encoded backslash "%5c"', 'echo/a%5c..%5cme'],
  ['raw backslash', 'echo/a/b/c\\..\\..\\me'],
  ['leading slash "//host"', '/127.0.0.1:1/x'],
  ['leading slash "//evil"', '/evil.example/x'],
  ['scheme "http://evil"', 'http://evil.example/x'],
  ['encoded scheme "http%3a%2f%2fevil"', 'http%3a%2f%2fevil.example/x'],
  ['half-encoded scheme "https%3A//evil"', 'echo/https%3A//evil.example/x'],
  ['encoded NUL', 'echo/a%00b'],
  ['encoded CR LF (request splitting)', 'echo/a%0d%0aHost:%20evil.example'],
  ['encoded TAB', 'echo/a%09b'],
  ['encoded DEL', 'echo/a%7fb'],
  ['double-encoded CR LF', 'echo/a%250d%250aX:y'],
];

describe('path escapes through the proxy route are refused with 400 PROXY_PATH_REJECTED and nothing is sent upstream', () => {
  const cases = PATH_ATTEMPTS.flatMap(([name, path]) => [
    [`${name} (oidc)`, 'oidc', path],
    [`${name} (legacy)`, 'legacy', path],
  ]) as Array<[string, 'oidc' | 'legacy', string]>;

  // As behind App Service: its front end canonicalises the URL and passes the bytes as received in
  // X-WAWS-Unencoded-URL, which is what the broker checks.
  test.each(cases)('%s', async (_name, provider, path) => {
    const connectionId = provider === 'oidc' ? oidcId : legacyId;
    const target = `/api/connections/${connectionId}/proxy/${path}`;
    const before = await upstreamSeen();
    const answer = await rawGet(target, `X-WAWS-Unencoded-URL: ${target}\r\n`);
    expect({ status: answer.status, code: JSON.parse(answer.body || '{}').error?.code }).toEqual({ status: 400, code: 'PROXY_PATH_REJECTED' });
    expect(await upstreamSeen()).toEqual(before);
  });

  // Without that header: the local host canonicalises the URL as the front end does and supplies the
  // header itself, overwriting any the client sent, so every attempt is refused the same way.
  test.each(PATH_ATTEMPTS)('%s, sent to the local host without the front end\'s header', async (_name, path) => {
    const before = await upstreamSeen();
    const answer = await rawGet(`/api/connections/${oidcId}/proxy/${path}`);
    expect({ status: answer.status, code: JSON.parse(answer.body || '{}').error?.code }).toEqual({ status: 400, code: 'PROXY_PATH_REJECTED' });
    expect(await upstreamSeen()).toEqual(before);
  });

  // As on Azure, where the front end resolves dot segments before routing: a path that climbs out of
  // /proxy/ never reaches the proxy; it is the route it resolves to, under that route's own checks.
  test.each([
    ['climbing onto the token route', 'echo/../../token'],
    ['climbing onto the token route, encoded', '%2e%2e/token'],
  ])('%s lands on the token route, and nothing goes through the proxy', async (_name, path) => {
    const resourceBefore = (await world.oidc.resourceLog()).length;
    const direct = await rawGet(`/api/connections/${oidcId}/token`);
    const answer = await rawGet(`/api/connections/${oidcId}/proxy/${path}`);
    expect(answer.status).toBe(direct.status);
    expect(Object.keys(JSON.parse(answer.body)).sort()).toEqual(Object.keys(JSON.parse(direct.body)).sort());
    expect((await world.oidc.resourceLog()).length).toBe(resourceBefore);
  });

  test('a client-supplied X-WAWS-Unencoded-URL cannot hide a dot segment on the local host', async () => {
    const before = await upstreamSeen();
    const answer = await rawGet(
      `/api/connections/${oidcId}/proxy/echo/../me`,
      `X-WAWS-Unencoded-URL: /api/connections/${oidcId}/proxy/echo/me\r\n`,
    );
    expect(answer.status).toBe(400);
    expect(await upstreamSeen()).toEqual(before);
  });
});

/**
 * Raw control characters in a header (or the request line) never reach the broker's own header
 * check: the host's HTTP/1.1 parser refuses the message first, with a bare 400.
 */
const HEADER_ATTEMPTS: Array<[string, string]> = [
  ['bare CR in a header value', 'X-Note: a\rInjected: b\r\n'],
  ['bare LF in a header value', 'X-Note: a\nInjected: b\r\n'],
  ['NUL in a header value', 'X-Note: a\u0000b\r\n'],
  ['DEL in a header value', 'X-Note: a\u007fb\r\n'],
  ['ESC in a header value', 'X-Note: a\u001bb\r\n'],
  ['obsolete line folding', 'X-Note: a\r\n Injected: b\r\n'],
  ['space in a header name', 'X Note: a\r\n'],
  ['CR in a header name', 'X-Note\r: a\r\n'],
];

describe('header injection attempts are refused with 400 and nothing is sent upstream', () => {
  test.each(HEADER_ATTEMPTS)('%s', async (_name, lines) => {
    const before = await upstreamSeen();
    const answer = await rawGet(`/api/connections/${oidcId}/proxy/echo/header`, lines);
    expect(answer.status).toBe(400);
    expect(await upstreamSeen()).toEqual(before);
  });

  test.each([
    ['SOH', 'echo/a\u0001b'],
    ['DEL', 'echo/a\u007fb'],
    ['TAB', 'echo/a\tb'],
    ['NUL', 'echo/a\u0000b'],
  ])('a raw %s in the request target is refused with 400 and nothing is sent upstream', async (_name, path) => {
    const before = await upstreamSeen();
    const answer = await rawGet(`/api/connections/${oidcId}/proxy/${path}`);
    expect(answer.status).toBe(400);
    expect(await upstreamSeen()).toEqual(before);
  });
});
