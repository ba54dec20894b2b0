import { createHmac, randomFillSync, sign as rsaSign } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { BrokerError } from '../../domain/errors';
import type { SignatureMethod } from '../../providers/types';

/*
 * RFC 5849 §3.4 signing. This is the only module that imports `oauth-1.0a`, and it uses the package
 * only where the package is right:
 *   - `getSigningKey` builds §3.4.2's `encode(consumer secret) & encode(token secret)`;
 *   - `hash_function` is the slot each signature method plugs into (HMAC, RSA, PLAINTEXT).
 * Its `percentEncode` is §3.6-correct too, but runs five regex passes over every string; ours applies
 * the same rule in one pass because it runs on every parameter of every proxied request (the unit
 * tests check both agree). Everything else is done here, because the package gets it wrong:
 *   - base-string URI (§3.4.1.2): it keeps the URL text before `?` as given, so host case, default
 *     ports (`:80`, `:443`), an empty path and fragments leak into the base string;
 *   - parameter collection (§3.4.1.3.1): it decodes query names not at all and `+` not as a space,
 *     lets body parameters overwrite query parameters of the same name, and includes `data` whatever
 *     the body's content type;
 *   - normalisation (§3.4.1.3.2): it sorts duplicate names' values before encoding them;
 *   - the Authorization header: it writes `realm` unescaped into a quoted string.
 */

/** One decoded name/value pair; names may repeat (RFC 5849 §3.4.1.3). */
export type OAuth1Param = readonly [name: string, value: string];

/**
 * The consumer's credentials: `consumerSecret` for HMAC-SHA1, HMAC-SHA256 and PLAINTEXT,
 * `privateKey` (PEM) for RSA-SHA1.
 */
export interface OAuth1ConsumerCredentials {
  consumerKey: string;
  consumerSecret?: string;
  privateKey?: string;
  signatureMethod: SignatureMethod;
}

/** Temporary or token credentials (RFC 5849 §1.1): `oauth_token` and its shared secret. */
export interface OAuth1TokenCredentials {
  token: string;
  tokenSecret: string;
}

/** Everything that enters the signature of one request. */
export interface OAuth1SigningInput {
  method: string;
  /** Absolute URL; its query parameters are signed. */
  url: string;
  /** Decoded parameters of a single-part `application/x-www-form-urlencoded` body; omit for other bodies. */
  formParams?: readonly OAuth1Param[];
  /** Extra protocol parameters of this leg (`oauth_callback`, `oauth_verifier`). */
  protocolParams?: Readonly<Record<string, string>>;
  token?: OAuth1TokenCredentials;
  /** `oauth_version="1.0"` is OPTIONAL (§3.1); most providers expect it, so it is sent unless false. */
  includeVersion?: boolean;
  /** Fixed values for known-answer tests; generated otherwise. */
  nonce?: string;
  timestamp?: string;
}

export interface OAuth1Signature {
  /** All protocol parameters including `oauth_signature`, in sending order. */
  oauthParams: OAuth1Param[];
  signature: string;
  /** The §3.4.1 signature base string (also computed for PLAINTEXT, which does not use it). */
  baseString: string;
}

const UNRESERVED_ONLY = /^[A-Za-z0-9\-._~]*$/;
/** What encodeURIComponent leaves alone but RFC 3986 §2.3 does not count as unreserved. */
const LEFT_BY_ENCODE_URI_COMPONENT = /[!'()*]/g;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
const NONCE_BYTES = 15;
// Random bytes are drawn in batches (each byte used once): one randomFillSync per 256 nonces
// instead of one system call per request.
const noncePool = Buffer.alloc(NONCE_BYTES * 256);
let noncePoolOffset = noncePool.length;

/**
 * Percent-encodes a value per RFC 5849 §3.6 (UTF-8, everything but RFC 3986 unreserved).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.6
 */
export function percentEncode(value: string): string {
  // Most protocol values are already unreserved; skipping the five regex passes keeps signing cheap.
  if (UNRESERVED_ONLY.test(value)) return value;
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch (error) {
    // encodeURIComponent throws on lone surrogates, which have no UTF-8 form.
    throw new BrokerError('INVALID_REQUEST', 'An OAuth 1.0a parameter is not valid Unicode', { cause: error });
  }
  return encoded.replace(LEFT_BY_ENCODE_URI_COMPONENT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Base-string URI (RFC 5849 §3.4.1.2): lower-case scheme and host, port only when not the default,
 * path (at least `/`), no query, no fragment. The WHATWG parser already lower-cases, drops default
 * ports and normalises the path exactly as the request line will carry it.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.2
 */
export function baseStringUri(url: string | URL): string {
  const parsed = typeof url === 'string' ? parseAbsoluteUrl(url) : url;
  const port = parsed.port && parsed.port !== DEFAULT_PORTS[parsed.protocol] ? `:${parsed.port}` : '';
  return `${parsed.protocol}//${parsed.hostname}${port}${parsed.pathname || '/'}`;
}

/**
 * Parameter normalisation (RFC 5849 §3.4.1.3.2): encode names and values, sort by encoded name
 * then encoded value in byte order, join `name=value` pairs with `&`. Duplicates are kept.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.3.2
 */
export function normalizeParameters(params: readonly OAuth1Param[]): string {
  let out = '';
  for (const [name, value] of sortedEncodedPairs(params)) out += (out ? '&' : '') + name + '=' + value;
  return out;
}

/**
 * Signature base string (RFC 5849 §3.4.1): `METHOD&encode(base URI)&encode(normalised parameters)`,
 * where the parameters are the URL's query parameters plus `params` (protocol and form parameters).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1
 */
export function signatureBaseString(method: string, url: string, params: readonly OAuth1Param[]): string {
  const parsed = parseAbsoluteUrl(url);
  return buildBaseString(method, parsed, [...queryParams(parsed), ...params]);
}

/**
 * Signs a request (RFC 5849 §3.4) and returns the protocol parameters to send, the signature and
 * the base string it covers.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4
 */
export function signOAuth1Request(consumer: OAuth1ConsumerCredentials, input: OAuth1SigningInput): OAuth1Signature {
  const oauthParams: OAuth1Param[] = [
    ['oauth_consumer_key', consumer.consumerKey],
    ['oauth_nonce', input.nonce ?? generateNonce()],
    ['oauth_signature_method', consumer.signatureMethod],
    ['oauth_timestamp', input.timestamp ?? String(Math.floor(Date.now() / 1000))],
  ];
  if (input.token) oauthParams.push(['oauth_token', input.token.token]);
  if (input.includeVersion !== false) oauthParams.push(['oauth_version', '1.0']);
  for (const [name, value] of Object.entries(input.protocolParams ?? {})) oauthParams.push([name, value]);

  const parsed = parseAbsoluteUrl(input.url);
  const baseString = buildBaseString(input.method, parsed, [
    ...queryParams(parsed),
    ...(input.formParams ?? []),
    ...oauthParams,
  ]);
  const signer = signerFor(consumer);
  const signature = signer.hash_function(baseString, signingKeyFor(signer, consumer, input.token?.tokenSecret));
  oauthParams.push(['oauth_signature', signature]);
  return { oauthParams, signature, baseString };
}

/**
 * `Authorization: OAuth …` header value (RFC 5849 §3.5.1); `realm` is optional and never signed.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.1
 */
export function authorizationHeaderValue(oauthParams: readonly OAuth1Param[], realm?: string): string {
  const parts = oauthParams.map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`);
  if (realm !== undefined) parts.unshift(`realm="${realm.replace(/["\\]/g, '\\$&')}"`);
  return `OAuth ${parts.join(', ')}`;
}

/**
 * `name=value&…` with §3.6 encoding, for parameters placed in a query or form body (§3.5.2, §3.5.3).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.2
 */
export function encodeParams(params: readonly OAuth1Param[]): string {
  return params.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&');
}

/**
 * A nonce of 120 random bits as 30 hex digits: alphanumeric and within the 20–30 characters that
 * common server libraries (oauthlib) accept by default.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.3
 */
export function generateNonce(): string {
  if (noncePoolOffset + NONCE_BYTES > noncePool.length) {
    randomFillSync(noncePool);
    noncePoolOffset = 0;
  }
  const nonce = noncePool.toString('hex', noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

function buildBaseString(method: string, url: URL, params: readonly OAuth1Param[]): string {
  return `${method.toUpperCase()}&${percentEncode(baseStringUri(url))}&${encodedNormalizedParameters(params)}`;
}

function sortedEncodedPairs(params: readonly OAuth1Param[]): [string, string][] {
  const encoded = params.map(([name, value]): [string, string] => [percentEncode(name), percentEncode(value)]);
  // Encoded strings are ASCII, so UTF-16 code-unit comparison is byte order.
  return encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
}

/**
 * `percentEncode(normalizeParameters(params))` without a second encoding pass over the whole string:
 * encoded pairs hold only unreserved characters and `%`, so re-encoding them only turns `%` into
 * `%25`, and the joining `=` and `&` become `%3D` and `%26`.
 */
function encodedNormalizedParameters(params: readonly OAuth1Param[]): string {
  let out = '';
  for (const [name, value] of sortedEncodedPairs(params)) {
    out += (out ? '%26' : '') + reEncodePercent(name) + '%3D' + reEncodePercent(value);
  }
  return out;
}

function reEncodePercent(encoded: string): string {
  return encoded.includes('%') ? encoded.replaceAll('%', '%25') : encoded;
}

/** Query parameters decoded as `application/x-www-form-urlencoded` (§3.4.1.3.1: `+` is a space). */
function queryParams(url: URL): OAuth1Param[] {
  return url.search.length > 1 ? [...url.searchParams] : [];
}

function parseAbsoluteUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (error) {
    throw new BrokerError('INVALID_REQUEST', 'The URL to sign is not an absolute URL', { cause: error });
  }
}

// A proxy signs many requests for the same consumer and token: the package's signer and the
// §3.4.2 signing key are built once per consumer/token pair (bounded caches, secrets stay in memory
// as they already do).
const SIGNER_CACHE_LIMIT = 256;
const signers = new Map<string, OAuth>();
const signingKeys = new Map<string, string>();

function remember<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= SIGNER_CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }
  return value;
}

function signerFor(consumer: OAuth1ConsumerCredentials): OAuth {
  const key = `${consumer.signatureMethod}\u0000${consumer.consumerKey}\u0000${consumer.consumerSecret ?? ''}\u0000${consumer.privateKey ?? ''}`;
  return remember(signers, key, () =>
    new OAuth({
      consumer: { key: consumer.consumerKey, secret: consumer.consumerSecret ?? '' },
      signature_method: consumer.signatureMethod,
      hash_function: hashFunctionFor(consumer),
    }),
  );
}

function signingKeyFor(signer: OAuth, consumer: OAuth1ConsumerCredentials, tokenSecret: string | undefined): string {
  const key = `${consumer.consumerSecret ?? ''}\u0000${tokenSecret ?? '\u0001'}`;
  return remember(signingKeys, key, () => signer.getSigningKey(tokenSecret as string));
}

function hashFunctionFor(consumer: OAuth1ConsumerCredentials): (baseString: string, key: string) => string {
  if (consumer.signatureMethod !== 'RSA-SHA1' && consumer.consumerSecret === undefined) {
    throw new BrokerError('PROVIDER_INVALID', `${consumer.signatureMethod} signing needs a consumerSecret`);
  }
  switch (consumer.signatureMethod) {
    case 'HMAC-SHA1':
      return (baseString, key) => createHmac('sha1', key).update(baseString).digest('base64');
    case 'HMAC-SHA256':
      return (baseString, key) => createHmac('sha256', key).update(baseString).digest('base64');
    case 'RSA-SHA1': {
      const { privateKey } = consumer;
      if (!privateKey) throw new BrokerError('PROVIDER_INVALID', 'RSA-SHA1 signing needs a privateKey');
      // §3.4.3: RSASSA-PKCS1-v1_5 over the base string with SHA-1; the shared-secret key is unused.
      return (baseString) => rsaSign('sha1', Buffer.from(baseString), privateKey).toString('base64');
    }
    case 'PLAINTEXT':
      // §3.4.4: the signature is the signing key itself.
      return (_baseString, key) => key;
  }
}
