import { BrokerError } from '../../../src/domain/errors';
import {
  buildProxyTarget,
  filterRequestHeaders,
  filterResponseHeaders,
  HeaderInput,
  ProxyPathRule,
} from '../../../src/proxy/policy';

const BASE = 'https://api.example.com';
const BASE_V1 = 'https://api.example.com/v1';

/** Runs `fn`, which must throw a BrokerError, and returns it (failing the test when it returns). */
function thrownBy(fn: () => unknown): BrokerError {
  let result: unknown;
  try {
    result = fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error(`expected a BrokerError, got a result: ${String(result)}`);
}

describe('buildProxyTarget', () => {
  describe('refuses path escapes with PROXY_PATH_REJECTED and returns no URL', () => {
    const rejected: Array<[string, string, string, ProxyPathRule]> = [
      // [description, rawPath, rawQuery, rule]
      ['raw ".." segment', '../admin', '', 'dot-segment'],
      ['raw ".." in the middle', 'users/../../admin', '', 'dot-segment'],
      ['raw "." segment', 'users/./me', '', 'dot-segment'],
      ['trailing ".."', 'users/..', '', 'dot-segment'],
      ['lower-case %2e%2e', '%2e%2e/admin', '', 'dot-segment'],
      ['upper-case %2E%2E', 'users/%2E%2E/admin', '', 'dot-segment'],
      ['mixed .%2e', 'users/.%2e/admin', '', 'dot-segment'],
      ['mixed %2E.', 'users/%2E./admin', '', 'dot-segment'],
      ['single encoded %2e', 'users/%2e/me', '', 'dot-segment'],
      ['double-encoded %252e%252e', 'users/%252e%252e/admin', '', 'dot-segment'],
      ['triple-encoded %25252e%25252E', '%25252e%25252E/admin', '', 'dot-segment'],
      ['split double encoding %%32%65%%32%65', '%%32%65%%32%65/admin', '', 'dot-segment'],
      ['IIS %u002e%u002e', '%u002e%u002e/admin', '', 'dot-segment'],
      ['servlet "..;" path parameter', 'users/..;x=1/admin', '', 'dot-segment'],
      ['three dots', 'users/.../admin', '', 'dot-segment'],
      ['fullwidth dots %EF%BC%8E%EF%BC%8E', 'users/%EF%BC%8E%EF%BC%8E/admin', '', 'dot-segment'],
      ['trailing encoded space ..%20', 'users/..%20/admin', '', 'dot-segment'],
      ['dots around a space ".. ."', 'users/..%20./admin', '', 'dot-segment'],
      ['trailing NBSP ..%C2%A0', 'users/..%C2%A0/admin', '', 'dot-segment'],
      ['trailing tab ..%09', 'users/..%09/admin', '', 'control-character'],
      ['NTFS stream ..::$DATA', 'users/..::$DATA/admin', '', 'dot-segment'],
      ['NTFS stream, encoded ..%3A%3A%24DATA', 'users/..%3A%3A%24DATA/admin', '', 'dot-segment'],
      ['IIS %u002e with a raw dot', 'users/.%u002e/admin', '', 'dot-segment'],
      ['IIS %U002E upper case', 'users/%U002E%U002E/admin', '', 'dot-segment'],
      ['zero-width space ..%E2%80%8B', 'users/..%E2%80%8B/admin', '', 'dot-segment'],
      ['ideographic space ..%E3%80%80', 'users/..%E3%80%80/admin', '', 'dot-segment'],
      ['overlong UTF-8 dot %C0%AE%C0%AE', 'users/%C0%AE%C0%AE/admin', '', 'invalid-encoding'],
      ['encoded slash %2f', 'users%2f..%2fadmin', '', 'encoded-slash'],
      ['encoded slash %2F', 'repos/a%2Fb', '', 'encoded-slash'],
      ['double-encoded slash %252f', 'repos/a%252fb', '', 'encoded-slash'],
      ['encoded %2e%2e%2f prefix', '%2e%2e%2fadmin', '', 'encoded-slash'],
      ['fullwidth slash %EF%BC%8F', 'repos/a%EF%BC%8Fb', '', 'encoded-slash'],
      ['encoded backslash %5c', 'users/..%5cadmin', '', 'encoded-backslash'],
      ['double-encoded backslash %255C', 'users/%255C', '', 'encoded-backslash'],
      ['raw backslash', 'users\\..\\admin', '', 'backslash'],
      ['raw backslash alone', 'a\\b', '', 'backslash'],
      ['raw NUL', 'users/me\u0000', '', 'control-character'],
      ['raw CR LF', 'users/me\r\nHost: evil', '', 'control-character'],
      ['raw tab (the URL parser would strip it)', 'users/m\te', '', 'control-character'],
      ['raw DEL', 'users/\u007f', '', 'control-character'],
      ['encoded NUL %00', 'users/me%00.json', '', 'control-character'],
      ['encoded CR LF %0d%0a', 'users%0d%0aHost:%20evil', '', 'control-character'],
      ['encoded unit separator %1F', 'a%1Fb', '', 'control-character'],
      ['encoded DEL %7f', 'a%7fb', '', 'control-character'],
      ['double-encoded LF %250a', 'a%250ab', '', 'control-character'],
      ['protocol-relative //host', '/evil.example/x', '', 'leading-slash'],
      ['leading slash', '/users', '', 'leading-slash'],
      ['absolute URL in the path', 'https://evil.example/x', '', 'scheme-in-path'],
      ['scheme with an encoded colon', 'http%3A//evil.example', '', 'scheme-in-path'],
      ['scheme separator with a fullwidth colon', 'x%EF%BC%9A//evil.example', '', 'scheme-in-path'],
      ['encoded ://', 'https%3A%2F%2Fevil.example', '', 'encoded-slash'],
      ['raw "?" in the path', 'users?x=1', '', 'query-or-fragment-in-path'],
      ['raw "#" in the path', 'users#frag', '', 'query-or-fragment-in-path'],
      ['invalid UTF-8 byte', 'users/%ff', '', 'invalid-encoding'],
      ['CR LF in the query', 'users', 'a=1\r\nX-Injected: 1', 'query-control-character'],
      ['LF in the query', 'users', 'a=1\nb', 'query-control-character'],
      ['NUL in the query', 'users', 'a=\u0000', 'query-control-character'],
      ['raw "#" in the query', 'users', 'a=1#frag', 'query-fragment'],
    ];

    test.each(rejected)('when the path has %s, then it is refused', (_name, rawPath, rawQuery, rule) => {
      for (const base of [BASE, `${BASE}/`, BASE_V1, `${BASE_V1}/`]) {
        const error = thrownBy(() => buildProxyTarget(base, rawPath, rawQuery));
        expect(error.code).toBe('PROXY_PATH_REJECTED');
        expect(error.details).toEqual({ rule });
        expect(error.message).toMatch(/^Proxy path rejected: /);
      }
    });

    test('the refusal message never echoes the path', () => {
      const error = thrownBy(() => buildProxyTarget(BASE, 'secret-id-123/../x', ''));
      expect(error.message).not.toContain('secret-id-123');
    });
  });

  describe('accepts paths that stay within apiBaseUrl', () => {
    const accepted: Array<[string, string, string, string, string]> = [
      // [description, apiBaseUrl, rawPath, rawQuery, expected]
      ['"@" inside a segment', BASE, 'users/@me', '', 'https://api.example.com/users/@me'],
      ['"@" at the start of the path', BASE, '@me/guilds', '', 'https://api.example.com/@me/guilds'],
      ['an encoded space', BASE, 'repos/a%20b/issues', '', 'https://api.example.com/repos/a%20b/issues'],
      ['encoded unicode', BASE, 'files/%C3%A9t%C3%A9', '', 'https://api.example.com/files/%C3%A9t%C3%A9'],
      ['raw unicode (encoded on the way out)', BASE, 'files/été', '', 'https://api.example.com/files/%C3%A9t%C3%A9'],
      ['an encoded "%" kept once-encoded', BASE, 'tags/100%25', '', 'https://api.example.com/tags/100%25'],
      ['a dot inside a segment', BASE, 'files/report.v2.json', '', 'https://api.example.com/files/report.v2.json'],
      ['a segment starting with dots', BASE, 'files/..hidden', '', 'https://api.example.com/files/..hidden'],
      ['a colon without "//"', BASE, 'urn:isbn:123', '', 'https://api.example.com/urn:isbn:123'],
      ['a trailing slash', BASE, 'users/', '', 'https://api.example.com/users/'],
      ['an empty path', BASE, '', '', 'https://api.example.com/'],
      ['an empty path under a prefix', BASE_V1, '', '', 'https://api.example.com/v1/'],
      ['a path prefix', BASE_V1, 'users/@me', '', 'https://api.example.com/v1/users/@me'],
      ['a path prefix with a trailing slash', `${BASE_V1}/`, 'users', '', 'https://api.example.com/v1/users'],
      ['a base with several trailing slashes', `${BASE_V1}//`, 'users', '', 'https://api.example.com/v1/users'],
      ['a base with a port', 'http://127.0.0.1:8080/api', 'x', '', 'http://127.0.0.1:8080/api/x'],
      ['a query passed through', BASE, 'search', 'q=a+b&page=2', 'https://api.example.com/search?q=a+b&page=2'],
      ['%2F and %2E%2E in query values', BASE, 'files', 'path=a%2Fb%2F..%2Fc&x=%2e%2e', 'https://api.example.com/files?path=a%2Fb%2F..%2Fc&x=%2e%2e'],
      ['"://" and "@" in the query', BASE, 'redirect', 'to=https://evil.example/@x', 'https://api.example.com/redirect?to=https://evil.example/@x'],
      ['encoded CR LF in the query (data, not framing)', BASE, 'notes', 'text=a%0D%0Ab', 'https://api.example.com/notes?text=a%0D%0Ab'],
      ['a query on an empty path', BASE_V1, '', 'a=1', 'https://api.example.com/v1/?a=1'],
    ];

    test.each(accepted)('when the path has %s, then the target is joined as received', (_name, base, rawPath, rawQuery, expected) => {
      expect(buildProxyTarget(base, rawPath, rawQuery)).toBe(expected);
    });
  });

  describe('refuses an unusable apiBaseUrl with PROVIDER_INVALID', () => {
    test.each([
      ['not a URL', 'api.example.com'],
      ['another scheme', 'ftp://api.example.com'],
      ['credentials', 'https://user:pass@api.example.com'],
      ['a query', 'https://api.example.com/v1?key=1'],
      ['a fragment', 'https://api.example.com/v1#x'],
    ])('when apiBaseUrl has %s, then it is refused', (_name, base) => {
      expect(thrownBy(() => buildProxyTarget(base, 'users', '')).code).toBe('PROVIDER_INVALID');
    });
  });
});

describe('filterRequestHeaders', () => {
  test('when the caller sends credentials, hop-by-hop, host and topology headers, then only end-to-end headers remain', () => {
    const incoming: HeaderInput = {
      Authorization: 'Bearer client-key',
      'x-api-key': 'client-key',
      Cookie: 'session=1',
      'Proxy-Authorization': 'Basic eDp5',
      Connection: 'keep-alive, X-Custom-Hop',
      'Keep-Alive': 'timeout=5',
      'Proxy-Connection': 'keep-alive',
      TE: 'trailers',
      Trailer: 'Expires',
      'Transfer-Encoding': 'chunked',
      Upgrade: 'websocket',
      'X-Custom-Hop': 'gone',
      Host: 'broker.example',
      Expect: '100-continue',
      Forwarded: 'for=10.0.0.1',
      'X-Forwarded-For': '10.0.0.1',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-Host': 'broker.example',
      'X-Real-IP': '10.0.0.1',
      Via: '1.1 frontdoor',
      'X-ARR-SSL': 'cert',
      'X-Original-URL': '/api/connections/c1/proxy/x',
      'Content-Length': '12',
      'Content-Type': 'application/json',
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': '2022-11-28',
      'User-Agent': 'client/1.0',
      'If-None-Match': '"abc"',
    };
    expect(filterRequestHeaders(incoming)).toEqual({
      'content-type': 'application/json',
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'client/1.0',
      'if-none-match': '"abc"',
    });
  });

  test('when the body is streamed as received, then Content-Length is kept', () => {
    expect(filterRequestHeaders({ 'Content-Length': '12' }, { bodyReframed: false })).toEqual({ 'content-length': '12' });
  });

  test('headers named in several Connection headers, in any case, are dropped', () => {
    const incoming: HeaderInput = { connection: ['X-A', ' x-b ,,'], 'x-a': '1', 'X-B': '2', 'x-c': '3' };
    expect(filterRequestHeaders(incoming)).toEqual({ 'x-c': '3' });
  });

  test('repeated values and names differing only in case are joined with ", "', () => {
    const incoming: HeaderInput = { Accept: ['text/plain', 'application/json'], accept: 'text/html', 'x-none': undefined, 'x-empty': [] };
    expect(filterRequestHeaders(incoming)).toEqual({ accept: 'text/plain, application/json, text/html' });
  });

  test('a horizontal tab and obs-text in a value are allowed', () => {
    expect(filterRequestHeaders({ 'x-note': 'a\tb caf\u00e9' })).toEqual({ 'x-note': 'a\tb caf\u00e9' });
  });

  const injections: Array<[string, HeaderInput, string | undefined]> = [
    // [description, headers, header named in details]
    ['CR LF in a value', { 'x-trace': 'a\r\nHost: evil.example' }, 'x-trace'],
    ['a bare LF in a value', { Accept: 'json\nX-Injected: 1' }, 'accept'],
    ['a bare CR in a value', { 'x-trace': 'a\rb' }, 'x-trace'],
    ['NUL in a value', { 'x-trace': 'a\u0000b' }, 'x-trace'],
    ['another control character in a value', { 'x-trace': 'a\u0008b' }, 'x-trace'],
    ['DEL in a value', { 'x-trace': 'a\u007fb' }, 'x-trace'],
    ['a character outside Latin-1 in a value', { 'x-trace': 'a\u2028b' }, 'x-trace'],
    ['CR LF in one of several values', { 'x-trace': ['ok', 'bad\r\nX-Injected: 1'] }, 'x-trace'],
    ['CR LF in a header that would be dropped', { Authorization: 'Bearer k\r\nX-Injected: 1' }, 'authorization'],
    ['CR LF in a name', { 'x-a\r\nx-injected': '1' }, undefined],
    ['a colon in a name', { 'x-a:b': '1' }, undefined],
    ['a space in a name', { 'x a': '1' }, undefined],
    ['an empty name', { '': '1' }, undefined],
  ];

  test.each(injections)('when a request carries %s, then it is refused with PROXY_HEADER_REJECTED', (_name, headers, header) => {
    const error = thrownBy(() => filterRequestHeaders(headers));
    expect(error.code).toBe('PROXY_HEADER_REJECTED');
    expect(error.details).toEqual(header === undefined ? undefined : { header });
    expect(error.message).not.toMatch(/evil|X-Injected|Bearer/);
  });
});

describe('filterResponseHeaders', () => {
  test('when the provider answers with hop-by-hop headers, then they are removed and the rest is kept as it was (cookies withheld)', () => {
    const upstream: HeaderInput = {
      Connection: 'close, X-Upstream-Hop',
      'Keep-Alive': 'timeout=5',
      'Transfer-Encoding': 'chunked',
      Trailer: 'Expires',
      Upgrade: 'h2c',
      'Proxy-Authenticate': 'Basic',
      'X-Upstream-Hop': '1',
      'Content-Type': 'application/json; charset=utf-8',
      'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
      ETag: '"v1"',
      'X-RateLimit-Remaining': '59',
      'Content-Length': '42',
      'x-absent': undefined,
    };
    expect(filterResponseHeaders(upstream)).toEqual({
      'Content-Type': 'application/json; charset=utf-8',
      ETag: '"v1"',
      'X-RateLimit-Remaining': '59',
      'Content-Length': '42',
    });
  });

  test('the returned arrays are copies, so callers cannot alter the upstream headers', () => {
    const links = ['<https://api.example/p2>; rel="next"'];
    const filtered = filterResponseHeaders({ link: links });
    (filtered.link as string[]).push('<https://evil.example>; rel="next"');
    expect(links).toEqual(['<https://api.example/p2>; rel="next"']);
  });

  test("when the provider sets cookies or the broker's own x-broker-* headers, then the caller sees neither", () => {
    const upstream: HeaderInput = {
      'Set-Cookie': ['provider-session=s1; Path=/; HttpOnly'],
      'set-cookie2': 'legacy=1',
      'X-Broker-Error': 'UPSTREAM_TIMEOUT',
      'x-broker-connection': 'c2',
      'x-brokerage': 'kept: not the broker namespace',
      'Content-Type': 'text/plain',
    };
    expect(filterResponseHeaders(upstream)).toEqual({ 'x-brokerage': 'kept: not the broker namespace', 'Content-Type': 'text/plain' });
  });
});

describe('filterRequestHeaders is an allow-list', () => {
  test('when the platform in front of the broker adds its keys and sign-in headers, then none reaches the provider', () => {
    const incoming: HeaderInput = {
      'x-functions-key': 'host-key',
      'X-MS-CLIENT-PRINCIPAL': 'eyJ1c2VyIjoiYWRhIn0=',
      'X-MS-CLIENT-PRINCIPAL-ID': 'ada-id',
      'X-MS-CLIENT-PRINCIPAL-NAME': 'ada@example.com',
      'X-MS-CLIENT-PRINCIPAL-IDP': 'aad',
      'X-MS-TOKEN-AAD-ID-TOKEN': 'eyJhbGciOi.id.token',
      'X-MS-TOKEN-AAD-ACCESS-TOKEN': 'eyJhbGciOi.access.token',
      'x-ms-request-id': 'r1',
      'X-Azure-ClientIP': '203.0.113.9',
      'X-Azure-FDID': 'front-door-id',
      'x-appservice-proto': 'https',
      'x-waws-unencoded-url': '/api/connections/c1/proxy/x',
      'x-site-deployment-id': 'broker-app',
      'x-client-ip': '203.0.113.9',
      'x-envoy-external-address': '203.0.113.9',
      'x-broker-anything': 'broker namespace',
      'X-HTTP-Method-Override': 'DELETE',
      'client-ip': '203.0.113.9',
      'disguised-host': 'broker.azurewebsites.net',
      'was-default-hostname': 'broker.azurewebsites.net',
      'max-forwards': '3',
      origin: 'https://app.example',
      referer: 'https://app.example/settings',
      'sec-fetch-site': 'cross-site',
      'x-request-id': 'kept-1',
      accept: 'application/json',
    };
    expect(filterRequestHeaders(incoming)).toEqual({ 'x-request-id': 'kept-1', accept: 'application/json' });
  });

  test("when the provider declares its own headers, then those pass and other unknown ones do not", () => {
    const incoming: HeaderInput = { 'Notion-Version': '2022-06-28', 'Dropbox-API-Arg': '{"path":"/a"}', 'Some-Header': '1' };
    expect(filterRequestHeaders(incoming, { providerHeaders: ['notion-version'] })).toEqual({ 'notion-version': '2022-06-28' });
  });

  test('a provider cannot declare its way past the credentials or hop-by-hop rules', () => {
    const incoming: HeaderInput = { Authorization: 'Bearer client-key', Cookie: 'a=1', Connection: 'x-a', 'x-a': '1', TE: 'trailers' };
    expect(filterRequestHeaders(incoming, { providerHeaders: ['authorization', 'cookie', 'x-a', 'te'] })).toEqual({});
  });
});
