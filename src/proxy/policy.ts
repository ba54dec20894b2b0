import { TextDecoder } from 'node:util';
import { BrokerError } from '../domain/errors';

/**
 * What the proxy may send and return. Pure functions: the HTTP function calls them before anything
 * leaves the broker, so a refused request is never sent.
 */

/** Names the rule that refused a proxy target; carried in `BrokerError.details.rule`. */
export type ProxyPathRule =
  | 'leading-slash'
  | 'backslash'
  | 'query-or-fragment-in-path'
  | 'invalid-encoding'
  | 'control-character'
  | 'encoded-slash'
  | 'encoded-backslash'
  | 'dot-segment'
  | 'scheme-in-path'
  | 'query-control-character'
  | 'query-fragment'
  | 'outside-base';

const PATH_RULE_MESSAGES: Record<ProxyPathRule, string> = {
  'leading-slash': 'the path must not start with "/" (it could name another host)',
  backslash: 'the path must not contain a backslash',
  'query-or-fragment-in-path': 'the path must not contain a raw "?" or "#"',
  'invalid-encoding': 'the path contains percent-encoded bytes that are not valid UTF-8',
  'control-character': 'the path must not contain control characters, raw or percent-encoded',
  'encoded-slash': 'the path must not contain an encoded "/" (%2F), at any level of encoding',
  'encoded-backslash': 'the path must not contain an encoded "\\" (%5C), at any level of encoding',
  'dot-segment': 'a path segment must not be "." or "..", raw or percent-encoded',
  'scheme-in-path': 'the path must not contain "://", raw or percent-encoded',
  'query-control-character': 'the query must not contain raw control characters (CR, LF, …)',
  'query-fragment': 'the query must not contain a raw "#" (fragments are never sent)',
  'outside-base': "the joined URL leaves the provider's apiBaseUrl",
};

function rejectPath(rule: ProxyPathRule): BrokerError {
  // The path itself is not echoed: it may carry identifiers the caller considers private.
  return new BrokerError('PROXY_PATH_REJECTED', `Proxy path rejected: ${PATH_RULE_MESSAGES[rule]}.`, {
    details: { rule },
  });
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// IIS-style %uXXXX is decoded too: some servers still honour it.
const PERCENT_RUN = /%[uU]([0-9a-fA-F]{4})|(?:%[0-9a-fA-F]{2})+/g;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });
// Whitespace and invisible format characters (NBSP, ideographic space, zero-width ones, BOM).
const BLANKS = /[\s\u00a0\u180e\u200b-\u200d\u2060\ufeff]/g;

function percentDecodeOnce(value: string): string {
  return value.replace(PERCENT_RUN, (run: string, unicodeHex: string | undefined) => {
    if (unicodeHex !== undefined) return String.fromCharCode(parseInt(unicodeHex, 16));
    try {
      return STRICT_UTF8.decode(Buffer.from(run.replace(/%/g, ''), 'hex'));
    } catch {
      // Invalid UTF-8 includes overlong forms such as %C0%AE, which lenient servers read as ".".
      throw rejectPath('invalid-encoding');
    }
  });
}

/**
 * Decodes until nothing changes, so double (and deeper) encodings such as %252e are seen for what a
 * lenient server may eventually make of them. Each round shortens the string, so this terminates.
 * NFKC folds look-alikes (fullwidth "．", "／", "：") that some servers normalise to ASCII.
 */
function decodeFully(value: string): string {
  let current = value;
  for (let next = percentDecodeOnce(current); next !== current; next = percentDecodeOnce(current)) {
    current = next;
  }
  return current.normalize('NFKC');
}

function checkSegment(rawSegment: string): void {
  const decoded = decodeFully(rawSegment);
  if (CONTROL_CHARACTER.test(decoded)) throw rejectPath('control-character');
  if (decoded.includes('/')) throw rejectPath('encoded-slash');
  if (decoded.includes('\\')) throw rejectPath('encoded-backslash');
  if (readsAsDots(decoded)) throw rejectPath('dot-segment');
}

/**
 * Whether a lenient server could read the (fully decoded) segment as "." or "..": dots only, also
 * before a ";" (servlet containers read "..;x" as ".."), before a ":" (NTFS alternate streams such
 * as "..::$DATA"), with spaces or other blanks mixed in or trailing ("..%20", ".. .", "..%C2%A0":
 * Windows and IIS trim trailing dots and blanks), and "..." which file-system-backed servers trim.
 */
function readsAsDots(decoded: string): boolean {
  const core = decoded.split(/[;:]/)[0].replace(BLANKS, '');
  return /^\.+$/.test(core);
}

interface ParsedBase {
  url: URL;
  /** The base path with exactly one trailing "/". */
  pathPrefix: string;
}

function parseApiBaseUrl(apiBaseUrl: string): ParsedBase {
  let url: URL;
  try {
    url = new URL(apiBaseUrl);
  } catch {
    throw new BrokerError('PROVIDER_INVALID', 'apiBaseUrl is not an absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BrokerError('PROVIDER_INVALID', 'apiBaseUrl must be an http(s) URL.');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new BrokerError('PROVIDER_INVALID', 'apiBaseUrl must not carry credentials, a query or a fragment.');
  }
  const pathPrefix = url.pathname.replace(/\/+$/, '') + '/';
  return { url, pathPrefix };
}

/**
 * Joins a proxied path onto the provider's `apiBaseUrl`: `apiBaseUrl` (trailing "/" dropped) + "/" +
 * the path exactly as received (still percent-encoded) + "?" + the query exactly as received. An empty
 * path therefore targets `apiBaseUrl/`. Escapes are refused before joining, and the joined URL is
 * parsed (WHATWG) and checked to stay within `apiBaseUrl`'s origin and path prefix.
 *
 * @param apiBaseUrl the provider's configured `apiBaseUrl` (http or https, no query or fragment)
 * @param rawPath the path after `/proxy/`, percent-encoded as received
 * @param rawQuery the query without its "?", as received; may be empty
 * @returns the serialised target URL
 * @throws BrokerError `PROXY_PATH_REJECTED` with `details.rule` naming the rule;
 *   `PROVIDER_INVALID` when `apiBaseUrl` itself is unusable
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.3 (path segments, dot-segments)
 * @see https://url.spec.whatwg.org/#concept-basic-url-parser
 */
export function buildProxyTarget(apiBaseUrl: string, rawPath: string, rawQuery: string): string {
  const base = parseApiBaseUrl(apiBaseUrl);

  if (rawPath.startsWith('/')) throw rejectPath('leading-slash');
  if (rawPath.includes('\\')) throw rejectPath('backslash');
  if (rawPath.includes('?') || rawPath.includes('#')) throw rejectPath('query-or-fragment-in-path');
  for (const segment of rawPath.split('/')) checkSegment(segment);
  if (decodeFully(rawPath).includes('://')) throw rejectPath('scheme-in-path');

  // Percent-encoded CR/LF in a query is ordinary data; only raw ones could split the request.
  if (CONTROL_CHARACTER.test(rawQuery)) throw rejectPath('query-control-character');
  if (rawQuery.includes('#')) throw rejectPath('query-fragment');

  const joined = `${base.url.origin}${base.pathPrefix}${rawPath}${rawQuery === '' ? '' : `?${rawQuery}`}`;
  const target = new URL(joined);
  const staysInside =
    target.origin === base.url.origin &&
    target.username === '' &&
    target.password === '' &&
    target.hash === '' &&
    target.pathname.startsWith(base.pathPrefix);
  if (!staysInside) throw rejectPath('outside-base');
  return target.href;
}

/** Incoming or upstream headers as Node and the Functions runtime expose them. */
export type HeaderInput = Record<string, string | readonly string[] | undefined>;

/** @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** The caller's own credentials: the broker adds the connection's instead. */
const CALLER_CREDENTIALS = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie'];
/** Built once: a Set per proxied request was a visible share of the proxy route's profile. */
const NEVER_FORWARDED = new Set([...HOP_BY_HOP, ...CALLER_CREDENTIALS, 'host', 'expect']);

/**
 * End-to-end request headers with a standard meaning that a caller may send to any API: content
 * negotiation, representation metadata, conditional and range requests, caching, tracing.
 * @see https://www.rfc-editor.org/rfc/rfc9110 (semantics), RFC 9111 (caching), RFC 9530 (digests),
 *   W3C Trace Context, draft-ietf-httpapi-idempotency-key-header
 */
const STANDARD_REQUEST_HEADERS = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'baggage',
  'cache-control',
  'content-digest',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'digest',
  'idempotency-key',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'pragma',
  'prefer',
  'range',
  'repr-digest',
  'traceparent',
  'tracestate',
  'user-agent',
  'want-content-digest',
  'want-digest',
  'want-repr-digest',
]);

/**
 * Vendor headers (`x-…`) pass, except these namespaces, which belong to the platform in front of the
 * broker or to the broker itself: Functions keys (`x-functions-key`), App Service authentication
 * (`x-ms-client-principal*`, `x-ms-token-aad-*` and every other `x-ms-*`), ARR and front-end headers
 * (`x-arr-*`, `x-waws-*`, `x-site-*`, `x-original-*`, `x-appservice-*`), Front Door (`x-azure-*`),
 * proxies (`x-forwarded-*`, `x-real-ip`, `x-client-*`, `x-envoy-*`), the caller's key (`x-api-key`)
 * and method overrides that would let a request act as another method than the one signed.
 * @see https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities
 * @see https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol
 */
const RESERVED_VENDOR_PREFIXES = [
  'x-functions-',
  'x-ms-',
  'x-arr-',
  'x-waws-',
  'x-site-',
  'x-original-',
  'x-appservice-',
  'x-azure-',
  'x-forwarded-',
  'x-client-',
  'x-envoy-',
  'x-broker-',
];
const RESERVED_VENDOR_NAMES = new Set(['x-api-key', 'x-real-ip', 'x-http-method-override', 'x-http-method', 'x-method-override']);

function isForwardable(lowerName: string, providerHeaders: ReadonlySet<string>): boolean {
  if (STANDARD_REQUEST_HEADERS.has(lowerName) || providerHeaders.has(lowerName)) return true;
  if (!lowerName.startsWith('x-') || RESERVED_VENDOR_NAMES.has(lowerName)) return false;
  return !RESERVED_VENDOR_PREFIXES.some((prefix) => lowerName.startsWith(prefix));
}

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values allow HTAB, visible ASCII and obs-text; Node's own check refuses the rest too.
const INVALID_FIELD_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

function rejectHeader(message: string, header?: string): BrokerError {
  // Values are never echoed (they may be credentials); a valid header name is not secret.
  return new BrokerError('PROXY_HEADER_REJECTED', `Proxy header rejected: ${message}.`, {
    details: header === undefined ? undefined : { header },
  });
}

function valuesOf(value: string | readonly string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** Lower-case names listed in every `Connection` header (RFC 9110 §7.6.1). */
function namedInConnection(headers: HeaderInput): Set<string> {
  const named = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection') continue;
    for (const line of valuesOf(value)) {
      for (const token of line.split(',')) {
        const trimmed = token.trim().toLowerCase();
        if (trimmed !== '') named.add(trimmed);
      }
    }
  }
  return named;
}

export interface RequestHeaderOptions {
  /**
   * The broker buffers the body and the HTTP client sends it with a length of its own, so the
   * caller's `Content-Length` is dropped (a stale one would desynchronise the upstream connection).
   * Default `true`; pass `false` only when the exact received bytes are streamed through.
   */
  bodyReframed?: boolean;
  /**
   * The provider's own non-`x-` request headers (lower-case), e.g. Notion's `notion-version`: the
   * catalogue's `proxyHeaders`.
   */
  providerHeaders?: readonly string[];
}

/**
 * The caller's request headers the broker forwards to the provider, with lower-case names (repeated
 * headers joined with ", "). An allow-list: standard end-to-end headers, the provider's declared
 * headers, and vendor `x-…` headers outside the platform's and the broker's namespaces. Never
 * forwarded whatever the lists say: the caller's credentials (`Authorization`, `Proxy-Authorization`,
 * `x-api-key`, `Cookie`), hop-by-hop headers and those named in `Connection`, `Host` (the provider's
 * is set by the HTTP client), `Expect` (the broker has already read the body) and `Content-Length`
 * when the body is re-framed.
 *
 * @throws BrokerError `PROXY_HEADER_REJECTED` for a name that is not an HTTP token or a value with
 *   CR, LF, NUL or another control character (HTAB allowed), even in a header that would be dropped
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (Connection)
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-5.5 (field values)
 */
export function filterRequestHeaders(incoming: HeaderInput, opts: RequestHeaderOptions = {}): Record<string, string> {
  const bodyReframed = opts.bodyReframed ?? true;
  for (const [name, value] of Object.entries(incoming)) {
    if (!HTTP_TOKEN.test(name)) throw rejectHeader('a header name is not a valid HTTP token');
    for (const line of valuesOf(value)) {
      if (INVALID_FIELD_VALUE.test(line)) {
        throw rejectHeader(`the value of "${name.toLowerCase()}" contains CR, LF, NUL or another control character`, name.toLowerCase());
      }
    }
  }

  const named = namedInConnection(incoming);
  const never = (lower: string) => NEVER_FORWARDED.has(lower) || named.has(lower) || (bodyReframed && lower === 'content-length');
  const providerHeaders = new Set((opts.providerHeaders ?? []).map((name) => name.toLowerCase()));

  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (never(lower) || !isForwardable(lower, providerHeaders)) continue;
    const lines = valuesOf(value);
    if (lines.length === 0) continue;
    const joined = lines.join(', ');
    forwarded[lower] = lower in forwarded ? `${forwarded[lower]}, ${joined}` : joined;
  }
  return forwarded;
}

/**
 * Response headers that never reach the caller: cookies (the provider's session with the broker is
 * not the caller's, and a cookie could be replayed against the provider from the caller's side) and
 * the broker's own namespace, so a provider cannot spoof `x-broker-error`.
 */
const WITHHELD_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2']);
const BROKER_HEADER_PREFIX = 'x-broker-';
const NEVER_RETURNED = new Set([...HOP_BY_HOP, ...WITHHELD_RESPONSE_HEADERS]);

/**
 * The provider's response headers the broker returns to the caller: everything except hop-by-hop
 * headers, those named in `Connection`, cookies and the broker's own `x-broker-*` headers. Names,
 * values and arrays are kept as they were; the caller passes status and body through untouched.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export function filterResponseHeaders(upstream: HeaderInput): Record<string, string | string[]> {
  const named = namedInConnection(upstream);
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    const lower = name.toLowerCase();
    if (value === undefined || NEVER_RETURNED.has(lower) || named.has(lower) || lower.startsWith(BROKER_HEADER_PREFIX)) continue;
    kept[name] = typeof value === 'string' ? value : [...value];
  }
  return kept;
}
