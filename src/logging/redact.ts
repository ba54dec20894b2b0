/**
 * The one redaction helper for logs, error details and operator views. It returns a copy with
 * every secret-bearing value replaced by {@link REDACTED}: by key name in objects (deep,
 * cycle-safe), and by parameter name in URLs, query/form strings, JSON text and free text.
 */
export const REDACTED = '[REDACTED]';

const MAX_DEPTH = 20;

/**
 * Key names (lower-cased, with "_" and "-" removed) whose values are secret. `code` and `state`
 * are included because an authorization code or state in a log is enough to hijack a callback.
 */
const SECRET_KEYS = new Set([
  'accesstoken', 'refreshtoken', 'idtoken', 'token', 'code', 'codeverifier', 'state',
  'clientsecret', 'oauthtoken', 'oauthtokensecret', 'oauthverifier', 'oauthsignature', 'tokensecret',
  'password', 'passwd', 'secret', 'apikey', 'xapikey', 'authorization', 'proxyauthorization',
  'cookie', 'setcookie', 'privatekey', 'encryptionkey', 'clientkey', 'operatorkey', 'assertion',
  'clientassertion', 'accountkey', 'sharedaccesskey', 'sig', 'signature', 'credentials', 'keyhash',
]);

/** Suffixes that mark a secret in compound names such as `githubClientSecret` or `upstreamAccessToken`. */
const SECRET_SUFFIXES = ['secret', 'password', 'accesstoken', 'refreshtoken', 'idtoken', 'apikey', 'privatekey', 'encryptionkey'];

/** True when values under this key (object property, header, query parameter) must not be logged. */
export function isSecretKey(name: string): boolean {
  const normalised = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(normalised) || SECRET_SUFFIXES.some((suffix) => normalised.endsWith(suffix));
}

const PAIR = /([?&#;\s,]|^)([A-Za-z0-9_.-]+)=("[^"]*"|[^&#;\s,"'<>]*)/g;
const JSON_PAIR = /"([A-Za-z0-9_.-]+)"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g;
/**
 * Credentials after the (case-sensitive) scheme names: any RFC 6750 b64token after Bearer; after
 * Basic only base64 containing a digit, "+", "/" or "=", which spares prose like "Basic auth".
 */
const AUTH_SCHEME = /\b(Bearer\s+[A-Za-z0-9\-._~+/]+=*|Basic\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]+=*)/g;
const HEADER_LINE = /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s*:\s*)[^\r\n]+/gi;

/**
 * Redacts secrets inside a string: `name=value` pairs (URL query, form body, connection string),
 * `"name": "value"` JSON members, `Authorization`-style header lines and `Bearer`/`Basic` credentials.
 */
export function redactText(text: string): string {
  return text
    .replace(HEADER_LINE, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`)
    .replace(AUTH_SCHEME, (match: string) => `${match.split(/\s/)[0]} ${REDACTED}`)
    .replace(JSON_PAIR, (whole, name: string, sep: string, value: string) => (mustHide(name, value) ? `"${name}"${sep}"${REDACTED}"` : whole))
    .replace(PAIR, (whole, lead: string, name: string, value: string) =>
      isSecretKey(name) && value !== '' && value !== '""' ? `${lead}${name}=${REDACTED}` : whole,
    );
}

function redactValue(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (value instanceof URL) return redactText(value.href);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[MaxDepth]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, seen, depth + 1));
    if (value instanceof Map) return redactEntries([...value.entries()].map(([k, v]) => [String(k), v]), seen, depth);
    const entries: Array<[string, unknown]> = Object.entries(value);
    if (value instanceof Error) {
      // name, message and stack are not enumerable; keep them (redacted) along with any own fields
      entries.unshift(['name', value.name], ['message', value.message], ...(value.stack ? [['stack', value.stack] as [string, unknown]] : []));
      if (value.cause !== undefined) entries.push(['cause', value.cause]);
    }
    return redactEntries(entries, seen, depth);
  } finally {
    // a value seen on another branch is shared, not circular
    seen.delete(value);
  }
}

/**
 * `code` names both an OAuth authorization code (secret) and error codes such as
 * "OAUTH_INVALID_GRANT" or "ECONNRESET" (needed in logs); the latter are upper-case identifiers.
 */
const ERROR_CODE_VALUE = /^[A-Z][A-Z0-9_]*$/;

function mustHide(key: string, item: unknown): boolean {
  if (item === undefined || item === null || item === '' || !isSecretKey(key)) return false;
  if (key.toLowerCase() === 'code') return !(typeof item === 'number' || (typeof item === 'string' && ERROR_CODE_VALUE.test(item)));
  return true;
}

function redactEntries(entries: Array<[string, unknown]>, seen: WeakSet<object>, depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    Object.defineProperty(copy, key, {
      value: mustHide(key, item) ? REDACTED : redactValue(item, seen, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/**
 * A redacted copy of `value` for logging. Objects, arrays, Maps and Errors become plain data;
 * Buffers are summarised by size; cycles become `[Circular]`.
 */
export function redact(value: unknown): unknown {
  return redactValue(value, new WeakSet(), 0);
}
