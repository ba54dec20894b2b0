import { createHmac, createPrivateKey, createSecretKey, KeyObject, randomFillSync, sign as rsaSign } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { BrokerError } from '../../domain/errors';
import type { SignatureMethod } from '../../providers/types';
import { evictOldest } from '../../domain/bounded-map';

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

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };
const NONCE_BYTES = 15;
// Random bytes are drawn in batches (each byte used once): one randomFillSync per 256 nonces
// instead of one system call per request.
const noncePool = Buffer.alloc(NONCE_BYTES * 256);
let noncePoolOffset = noncePool.length;

/** 1 for the RFC 3986 §2.3 unreserved ASCII characters, which §3.6 leaves as they are. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
/** `%XX` (upper-case hex) for every ASCII code. */
const ASCII_ESCAPES = Array.from({ length: 128 }, (_, c) => `%${c.toString(16).toUpperCase().padStart(2, '0')}`);
/** The same escapes encoded a second time (`%` → `%25`). */
const ASCII_ESCAPES_TWICE = ASCII_ESCAPES.map((escape) => `%25${escape.slice(1)}`);

/**
 * Percent-encodes a value per RFC 5849 §3.6 (UTF-8, everything but RFC 3986 unreserved).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.6
 */
export function percentEncode(value: string): string {
  return encodeWith(value, ASCII_ESCAPES, false);
}

/** `percentEncode(percentEncode(value))` in one pass: what a parameter looks like in the base string. */
function percentEncodeTwice(value: string): string {
  return encodeWith(value, ASCII_ESCAPES_TWICE, true);
}

function encodeWith(value: string, escapes: readonly string[], twice: boolean): string {
  // One pass with a lookup table: this runs on every parameter of every proxied request, and most
  // protocol values are unreserved throughout, so they come back as they are.
  const length = value.length;
  let i = 0;
  while (i < length) {
    const c = value.charCodeAt(i);
    if (c >= 128 || UNRESERVED[c] === 0) break;
    i++;
  }
  if (i === length) return value;
  let out = '';
  let copyFrom = 0;
  for (; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 128) {
      if (UNRESERVED[c] === 1) continue;
      out += value.slice(copyFrom, i) + escapes[c];
      copyFrom = i + 1;
    } else {
      // Non-ASCII runs (surrogate pairs kept together) go to encodeURIComponent for their UTF-8 bytes;
      // it encodes every non-ASCII character, so nothing else needs escaping afterwards.
      let end = i + 1;
      while (end < length && value.charCodeAt(end) >= 128) end++;
      const utf8 = encodeNonAscii(value.slice(i, end));
      out += value.slice(copyFrom, i) + (twice ? utf8.replaceAll('%', '%25') : utf8);
      copyFrom = end;
      i = end - 1;
    }
  }
  return out + value.slice(copyFrom);
}

function encodeNonAscii(run: string): string {
  try {
    return encodeURIComponent(run);
  } catch (error) {
    // encodeURIComponent throws on lone surrogates, which have no UTF-8 form.
    throw new BrokerError('INVALID_REQUEST', 'An OAuth 1.0a parameter is not valid Unicode', { cause: error });
  }
}

/**
 * Base-string URI (RFC 5849 §3.4.1.2): lower-case scheme and host, port only when not the default,
 * path (at least `/`), no query, no fragment. The WHATWG parser already lower-cases, drops default
 * ports and normalises the path exactly as the request line will carry it; plain http(s) URLs get
 * the same result without a URL object.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.2
 */
export function baseStringUri(url: string | URL): string {
  if (typeof url === 'string') return splitUrl(url).baseUri;
  const port = url.port && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : '';
  return `${url.protocol}//${url.hostname}${port}${url.pathname || '/'}`;
}

/**
 * Parameter normalisation (RFC 5849 §3.4.1.3.2): encode names and values, sort by encoded name
 * then encoded value in byte order, join `name=value` pairs with `&`. Duplicates are kept.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1.3.2
 */
export function normalizeParameters(params: readonly OAuth1Param[]): string {
  const pairs: EncodedPair[] = [];
  addEncodedPairs(pairs, params, percentEncode);
  pairs.sort(byNameThenValue);
  let out = '';
  for (let i = 0; i < pairs.length; i++) out += (i > 0 ? '&' : '') + pairs[i].name + '=' + pairs[i].value;
  return out;
}

/**
 * Signature base string (RFC 5849 §3.4.1): `METHOD&encode(base URI)&encode(normalised parameters)`,
 * where the parameters are the URL's query parameters plus `params` (protocol and form parameters).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4.1
 */
export function signatureBaseString(method: string, url: string, params: readonly OAuth1Param[]): string {
  const { baseUri, query } = splitUrl(url);
  const pairs: EncodedPair[] = [];
  addEncodedQueryPairs(pairs, query);
  addEncodedPairs(pairs, params, percentEncodeTwice);
  return buildBaseString(method, baseUri, pairs);
}

/**
 * Signs a request (RFC 5849 §3.4) and returns the protocol parameters to send, the signature and
 * the base string it covers.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.4
 */
export function signOAuth1Request(consumer: OAuth1ConsumerCredentials, input: OAuth1SigningInput): OAuth1Signature {
  const { baseUri, query } = splitUrl(input.url);
  const pairs: EncodedPair[] = [];
  addEncodedQueryPairs(pairs, query);
  if (input.formParams) addEncodedPairs(pairs, input.formParams, percentEncodeTwice);

  const oauthParams: OAuth1Param[] = [];
  const nonce = input.nonce ?? generateNonce();
  const timestamp = input.timestamp ?? String(Math.floor(Date.now() / 1000));
  addProtocolParam(oauthParams, pairs, 'oauth_consumer_key', consumer.consumerKey);
  addProtocolParam(oauthParams, pairs, 'oauth_nonce', nonce, input.nonce === undefined);
  addProtocolParam(oauthParams, pairs, 'oauth_signature_method', consumer.signatureMethod);
  addProtocolParam(oauthParams, pairs, 'oauth_timestamp', timestamp, input.timestamp === undefined);
  if (input.token) addProtocolParam(oauthParams, pairs, 'oauth_token', input.token.token);
  if (input.includeVersion !== false) addProtocolParam(oauthParams, pairs, 'oauth_version', '1.0', true);
  const { protocolParams } = input;
  if (protocolParams) {
    for (const name of Object.keys(protocolParams)) {
      oauthParams.push([name, protocolParams[name]]);
      pairs.push({ name: percentEncodeTwice(name), value: percentEncodeTwice(protocolParams[name]) });
    }
  }

  const baseString = buildBaseString(input.method, baseUri, pairs);
  const cached = signerFor(consumer);
  const signature = cached.signer.hash_function(baseString, signingKeyFor(cached, input.token?.tokenSecret));
  oauthParams.push(['oauth_signature', signature]);
  return { oauthParams, signature, baseString };
}

/**
 * `Authorization: OAuth …` header value (RFC 5849 §3.5.1); `realm` is optional and never signed.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.1
 */
export function authorizationHeaderValue(oauthParams: readonly OAuth1Param[], realm?: string): string {
  let out = realm === undefined ? 'OAuth ' : `OAuth realm="${realm.replace(/["\\]/g, '\\$&')}", `;
  for (let i = 0; i < oauthParams.length; i++) {
    out += (i > 0 ? ', ' : '') + percentEncode(oauthParams[i][0]) + '="' + percentEncode(oauthParams[i][1]) + '"';
  }
  return out;
}

/**
 * `name=value&…` with §3.6 encoding, for parameters placed in a query or form body (§3.5.2, §3.5.3).
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5.2
 */
export function encodeParams(params: readonly OAuth1Param[]): string {
  let out = '';
  for (let i = 0; i < params.length; i++) {
    out += (i > 0 ? '&' : '') + percentEncode(params[i][0]) + '=' + percentEncode(params[i][1]);
  }
  return out;
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

/** A parameter after §3.6 encoding (once, or twice for the base string): ASCII, unreserved and `%`. */
interface EncodedPair {
  name: string;
  value: string;
}

/**
 * Adds a protocol parameter to those sent and to the base-string pairs. Its `oauth_*` name is
 * unreserved, and so are generated nonces (hex), timestamps (digits) and `1.0`: those enter the base
 * string as they are.
 */
function addProtocolParam(
  oauthParams: OAuth1Param[],
  pairs: EncodedPair[],
  name: string,
  value: string,
  valueIsUnreserved = false,
): void {
  oauthParams.push([name, value]);
  pairs.push({ name, value: valueIsUnreserved ? value : percentEncodeTwice(value) });
}

function addEncodedPairs(pairs: EncodedPair[], params: readonly OAuth1Param[], encode: (value: string) => string): void {
  for (let i = 0; i < params.length; i++) pairs.push({ name: encode(params[i][0]), value: encode(params[i][1]) });
}

/**
 * Query parameters decoded as `application/x-www-form-urlencoded` (§3.4.1.3.1: `+` is a space),
 * encoded twice for the base string.
 */
function addEncodedQueryPairs(pairs: EncodedPair[], query: string | URLSearchParams): void {
  if (typeof query !== 'string') {
    for (const [name, value] of query) pairs.push({ name: percentEncodeTwice(name), value: percentEncodeTwice(value) });
    return;
  }
  // splitUrl only hands over a query without `%`, so decoding is just `+` → space.
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      const field = query.slice(start, end).replaceAll('+', ' ');
      const equals = field.indexOf('=');
      const name = equals < 0 ? field : field.slice(0, equals);
      const value = equals < 0 ? '' : field.slice(equals + 1);
      pairs.push({ name: percentEncodeTwice(name), value: percentEncodeTwice(value) });
    }
    start = end + 1;
  }
}

// Encoded strings are ASCII, so UTF-16 code-unit comparison is byte order.
function byNameThenValue(a: EncodedPair, b: EncodedPair): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/**
 * `METHOD&encode(base URI)&encode(normalizeParameters(params))` from pairs that are already encoded
 * twice, so the normalised string needs no second pass: the joining `=` and `&` become `%3D` and
 * `%26`. Sorting the twice-encoded pairs gives the §3.4.1.3.2 order of the once-encoded ones, as the
 * second encoding only turns each `%` into `%25`, which keeps every first difference where it was.
 */
function buildBaseString(method: string, baseUri: string, pairs: EncodedPair[]): string {
  pairs.sort(byNameThenValue);
  let out = method.toUpperCase() + '&' + percentEncode(baseUri) + '&';
  for (let i = 0; i < pairs.length; i++) out += (i > 0 ? '%26' : '') + pairs[i].name + '%3D' + pairs[i].value;
  return out;
}

/**
 * http(s) URLs that the WHATWG parser would leave as they are apart from lower-casing scheme and
 * host: an LDH host, a port without leading zeros, a path and query of RFC 3986 characters that are
 * never percent-encoded (no `%`, `\`, spaces or controls), and anything after `#`.
 */
const PLAIN_URL =
  /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(\/[a-z0-9\-._~!$&'()*+,;=:@/]*)?(?:\?([a-z0-9\-._~!$&()*+,;=:@/?]*))?(?:#|$)/i;
/** The last label makes the host an IPv4 address for the WHATWG parser ("ends in a number"). */
const ENDS_IN_NUMBER = /(?:^|\.)(?:[0-9]+|0x[0-9a-f]*)$/i;
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
/** Dot segments (`.`, `..`, `%2e`) that the WHATWG parser removes; `%` never passes PLAIN_URL. */
const DOT_SEGMENT = /\/\.(?:\.)?(?:\/|$)/;

/**
 * The base-string URI and the query of an absolute URL. Plain http(s) URLs are split here without
 * building a URL object; anything else (userinfo, IDN or numeric hosts, percent-encoding, dot
 * segments, other schemes) goes through the WHATWG parser, whose result is what the request carries.
 */
function splitUrl(url: string): { baseUri: string; query: string | URLSearchParams } {
  const plain = PLAIN_URL.exec(url);
  if (plain !== null) {
    const [, scheme, host, port, path = '', query = ''] = plain;
    const hostIsPlain = !ENDS_IN_NUMBER.test(host) || CANONICAL_IPV4.test(host);
    if (hostIsPlain && !host.toLowerCase().includes('xn--') && !DOT_SEGMENT.test(path) && Number(port ?? 0) <= 65535) {
      const protocol = `${scheme.toLowerCase()}:`;
      const portPart = port === undefined || port === DEFAULT_PORTS[protocol] ? '' : `:${port}`;
      return { baseUri: `${protocol}//${host.toLowerCase()}${portPart}${path || '/'}`, query };
    }
  }
  const parsed = parseAbsoluteUrl(url);
  return { baseUri: baseStringUri(parsed), query: parsed.searchParams };
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
// as they already do). The signing keys of a signer are looked up by the token secret itself, and
// the signer of a credentials object is remembered on that object while its fields stay the same,
// so the usual request builds no cache-key strings.
const SIGNER_CACHE_LIMIT = 256;

interface CachedSigner {
  signer: OAuth;
  /** §3.4.2 signing keys by token secret (`undefined` when the request has no token). */
  signingKeys: Map<string | undefined, string>;
}

interface SignerOfCredentials extends CachedSigner {
  consumerKey: string;
  consumerSecret: string | undefined;
  privateKey: string | undefined;
  signatureMethod: SignatureMethod;
}

const signers = new Map<string, CachedSigner>();
const signersByCredentials = new WeakMap<OAuth1ConsumerCredentials, SignerOfCredentials>();

function remember<K, V>(cache: Map<K, V>, key: K, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
    evictOldest(cache, SIGNER_CACHE_LIMIT);
  }
  return value;
}

function signerFor(consumer: OAuth1ConsumerCredentials): CachedSigner {
  const { consumerKey, consumerSecret, privateKey, signatureMethod } = consumer;
  const known = signersByCredentials.get(consumer);
  if (
    known !== undefined &&
    known.consumerKey === consumerKey &&
    known.consumerSecret === consumerSecret &&
    known.privateKey === privateKey &&
    known.signatureMethod === signatureMethod
  ) {
    return known;
  }
  const key = `${signatureMethod}\u0000${consumerKey}\u0000${consumerSecret ?? ''}\u0000${privateKey ?? ''}`;
  const cached = remember(signers, key, () => ({
    signer: new OAuth({
      consumer: { key: consumerKey, secret: consumerSecret ?? '' },
      signature_method: signatureMethod,
      hash_function: hashFunctionFor(consumer),
    }),
    signingKeys: new Map<string | undefined, string>(),
  }));
  signersByCredentials.set(consumer, { ...cached, consumerKey, consumerSecret, privateKey, signatureMethod });
  return cached;
}

function signingKeyFor({ signer, signingKeys }: CachedSigner, tokenSecret: string | undefined): string {
  return remember(signingKeys, tokenSecret, () => signer.getSigningKey(tokenSecret as string));
}

function hashFunctionFor(consumer: OAuth1ConsumerCredentials): (baseString: string, key: string) => string {
  if (consumer.signatureMethod !== 'RSA-SHA1' && consumer.consumerSecret === undefined) {
    throw new BrokerError('PROVIDER_INVALID', `${consumer.signatureMethod} signing needs a consumerSecret`);
  }
  switch (consumer.signatureMethod) {
    case 'HMAC-SHA1':
      return hmac('sha1');
    case 'HMAC-SHA256':
      return hmac('sha256');
    case 'RSA-SHA1': {
      if (!consumer.privateKey) throw new BrokerError('PROVIDER_INVALID', 'RSA-SHA1 signing needs a privateKey');
      // The PEM is parsed once per signer, not on every request.
      const privateKey = createPrivateKey(consumer.privateKey);
      // §3.4.3: RSASSA-PKCS1-v1_5 over the base string with SHA-1; the shared-secret key is unused.
      return (baseString) => rsaSign('sha1', Buffer.from(baseString), privateKey).toString('base64');
    }
    case 'PLAINTEXT':
      // §3.4.4: the signature is the signing key itself.
      return (_baseString, key) => key;
  }
}

function hmac(algorithm: 'sha1' | 'sha256'): (baseString: string, key: string) => string {
  // The signing key is the same cached string for every request of a consumer/token pair; holding it
  // as a KeyObject spares createHmac converting it again on each call.
  const keyObjects = new Map<string, KeyObject>();
  return (baseString, key) => {
    const keyObject = remember(keyObjects, key, () => createSecretKey(Buffer.from(key, 'utf8')));
    return createHmac(algorithm, keyObject).update(baseString).digest('base64');
  };
}
