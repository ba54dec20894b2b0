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
const PERCENT_RUN = /%u([0-9a-fA-F]{4})|(?:%[0-9a-fA-F]{2})+/g;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

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
  // Dots only, also before a ";" (servlet containers read "..;x" as ".."), and "..." which some
  // file-system-backed servers trim to "..".
  if (/^\.+$/.test(decoded.split(';')[0])) throw rejectPath('dot-segment');
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

/**
 * Headers that describe the caller's route to the broker (client addresses, front-end host names,
 * Azure's front-end headers); forwarding them would leak the broker's topology to the provider.
 */
const TOPOLOGY = [
  'forwarded',
  'via',
  'x-real-ip',
  'client-ip',
  'x-client-ip',
  'x-client-port',
  'x-original-url',
  'x-waws-unencoded-url',
  'disguised-host',
  'was-default-hostname',
  'x-site-deployment-id',
];
const TOPOLOGY_PREFIXES = ['x-forwarded-', 'x-arr-'];

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
}

/**
 * The caller's request headers the broker may forward to the provider, with lower-case names
 * (repeated headers joined with ", "). Dropped: the caller's credentials (`Authorization`,
 * `Proxy-Authorization`, `x-api-key`, `Cookie`), hop-by-hop headers and those named in `Connection`,
 * `Host` (the provider's is set by the HTTP client), `Expect` (the broker has already read the body),
 * `Content-Length` when the body is re-framed, and topology headers (`Forwarded`, `X-Forwarded-*`,
 * `Via`, `X-Real-IP`, Azure's `X-ARR-*` and similar).
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

  const dropped = new Set([...HOP_BY_HOP, ...CALLER_CREDENTIALS, ...TOPOLOGY, 'host', 'expect', ...namedInConnection(incoming)]);
  if (bodyReframed) dropped.add('content-length');

  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (dropped.has(lower) || TOPOLOGY_PREFIXES.some((prefix) => lower.startsWith(prefix))) continue;
    const lines = valuesOf(value);
    if (lines.length === 0) continue;
    const joined = lines.join(', ');
    forwarded[lower] = lower in forwarded ? `${forwarded[lower]}, ${joined}` : joined;
  }
  return forwarded;
}

/**
 * The provider's response headers the broker returns to the caller: everything except hop-by-hop
 * headers and those named in `Connection`. Names, values and arrays (such as `set-cookie`) are
 * kept as they were; the caller passes status and body through untouched.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export function filterResponseHeaders(upstream: HeaderInput): Record<string, string | string[]> {
  const dropped = new Set([...HOP_BY_HOP, ...namedInConnection(upstream)]);
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || dropped.has(name.toLowerCase())) continue;
    kept[name] = typeof value === 'string' ? value : [...value];
  }
  return kept;
}
