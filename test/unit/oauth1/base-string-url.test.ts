import { baseStringUri, signatureBaseString } from '../../../src/oauth/oauth1/sign';

/*
 * sign.ts splits plain http(s) URLs itself and sends everything else through the WHATWG parser.
 * Whichever way a URL goes, the base string must be the one the WHATWG parser implies, because that
 * parser builds the request line the provider verifies against (RFC 5849 §3.4.1.2, §3.4.1.3.1).
 */

/** Independent §3.6 encoding. */
const enc = (v: string) => encodeURIComponent(v).replace(/[!*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The base string built from `new URL` alone, with nothing from the module. */
function referenceBaseString(method: string, url: string, params: [string, string][] = []): string {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'http:' ? '80' : parsed.protocol === 'https:' ? '443' : undefined;
  const port = parsed.port && parsed.port !== defaultPort ? `:${parsed.port}` : '';
  const uri = `${parsed.protocol}//${parsed.hostname}${port}${parsed.pathname || '/'}`;
  const pairs = [...parsed.searchParams, ...params].map(([n, v]) => [enc(n), enc(v)]);
  pairs.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${method}&${enc(uri)}&${enc(pairs.map(([n, v]) => `${n}=${v}`).join('&'))}`;
}

const URLS = [
  // plain
  'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
  'http://127.0.0.1:8080/api/resource?x=1&y=2',
  'http://example.com',
  'http://example.com?x=1',
  'http://example.com/?',
  'http://example.com/p?a=1&&b=&c&=d&e=f=g',
  'http://example.com/p?q=a+b&r=+&s+t=1',
  'http://example.com/p?q=a+b&q=a%20b&q=a%2Bb',
  "http://example.com/p?o'k=(1)*!$,;:@/?",
  "http://example.com/a;b=c/d:e@f!$&'()*+,=~_-.x",
  'http://example.com/p#frag ment?x=1',
  'http://example.com/p?x=1#frag',
  'http://example.com/.well-known/x',
  'http://example.com/a.b/c..d/e.',
  // scheme, host and port normalisation
  'HTTPS://API.Example.COM:443/R?A=B',
  'HTTP://EXAMPLE.COM:80/',
  'http://example.com:443/',
  'https://example.com:80/',
  'http://example.com:0080/',
  'http://example.com:65535/',
  'http://example.com:/p',
  'http://-a.b-/p',
  // hosts the WHATWG parser rewrites
  'http://127.1/',
  'http://0x7f.0.0.1/',
  'http://010.0.0.1/',
  'http://1.2.3.04/',
  'http://EXAMPLE.com./p',
  'http://xn--nxasmq6b.com/',
  'http://XN--NXASMQ6B.COM/',
  'http://bücher.example/',
  'http://[::1]:8080/p',
  'http://user:pass@example.com/p',
  // paths and queries the WHATWG parser rewrites
  'http://example.com/a/./b/../c',
  'http://example.com/a/%2e%2E/b',
  'http://example.com/a/.',
  'http://example.com/a/..',
  'http://example.com/a\\b',
  'http://example.com/a b?c d=e f',
  'http://example.com/a%zz?b=%zz&c=%C3%A9&d=%E9',
  'http://example.com/é?é=ü',
  'http://example.com/a\tb?c\n=d',
  '  http://example.com/p  ',
  'http://example.com/{a}|^`?b="<>"',
  'http:example.com/p',
  'http:/example.com/p',
  'https:\\\\example.com\\p',
  'ftp://example.com/p?x=1',
  'ws://Example.com:80/p',
];

describe('base string URI and query of any absolute URL', () => {
  it.each(URLS)('when the URL is %j, then the base string is the one the WHATWG parser implies', (url) => {
    expect(signatureBaseString('GET', url, [])).toBe(referenceBaseString('GET', url));
  });

  it('when the port is out of range or the host is not valid, then INVALID_REQUEST', () => {
    for (const url of ['http://example.com:65536/', 'http://256.0.0.1/', 'http://a b/', 'http://xn--a/', 'http://example.123/', 'http://exa%mple.com/']) {
      expect(() => baseStringUri(url)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
      expect(() => new URL(url)).toThrow();
    }
  });
});

describe('base string parameters', () => {
  it('when names and values need encoding, then they are encoded twice and sorted by their once-encoded form', () => {
    // "a" < "a%20b" < "a-" once encoded; "%2520" and "%25C3" keep that order when encoded again.
    const params: [string, string][] = [
      ['v', 'a-'], ['v', 'a b'], ['v', 'a!'], ['a-', '3'], ['a b', '1'], ['a', '2'], ['a', ''],
      ['é', 'x'], ['v', '☃'], ['v', '😀 é+/=&%'], ['oauth_signature_method', 'HMAC-SHA1'],
    ];
    const url = 'http://example.com/p?v=a%2B&a+b=0';
    expect(signatureBaseString('POST', url, params)).toBe(referenceBaseString('POST', url, params));
  });
});
