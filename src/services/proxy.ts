/**
 * The signing proxy: forwards a client's request to the provider's `apiBaseUrl` with the connection's
 * credentials (OAuth 2.0 bearer; OAuth 1.0a signature over method, URL, query and form body) and
 * returns the provider's answer as it was. Path and header rules live in src/proxy/policy.ts; nothing
 * is sent upstream when they refuse.
 */
import { Readable } from 'node:stream';
import { type Connection, isUsable } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { buildSignedRequest } from '../oauth/oauth1/signed-request';
import { asksForDpopNonce, proofMaker, ProviderNonces, rememberNonce } from '../oauth/oauth2/dpop';
import type { HttpRequestSpec } from '../oauth/http';
import type { ProviderDefinition } from '../providers/types';
import type { UpstreamResponse } from '../proxy/forward';
import { buildProxyTarget, filterRequestHeaders, filterResponseHeaders } from '../proxy/policy';
import type { StoredConnection } from '../storage/connections-repo';
import { oauth1Client } from './provider-clients';
import type { Runtime } from './runtime';
import { assertUsable, currentToken, forceRefresh } from './token';
import type { TokenView } from './token-cache';
/**
 * Largest request body forwarded. Bodies stream through (the app runs in HTTP stream mode) except
 * form bodies, which OAuth 1.0a signs and are therefore held whole; the provider's answer streams
 * back whatever its size.
 */
export const PROXY_MAX_BODY_BYTES = 32 * 1024 * 1024;
/**
 * Bodies up to this size are held so that a 401 can be retried once after a refresh; a larger body
 * streams through once, and a 401 answered to it goes back to the caller as it is.
 */
export const PROXY_RETRY_BODY_BYTES = 1024 * 1024;

export interface ProxyRequest {
  clientId: string;
  connectionId: string;
  method: HttpRequestSpec['method'];
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  /** The caller's body, read at most once (held whole only when it must be, see PROXY_RETRY_BODY_BYTES). */
  body?: Buffer | Readable;
}

export interface ProxyResponse {
  status: number;
  headers: Array<[string, string]>;
  /** The provider's body as it arrives. */
  body: Readable;
}

export async function proxyRequest(runtime: Runtime, request: ProxyRequest): Promise<ProxyResponse> {
  // The client's share of the socket pool and its request rate come first, so a refusal costs no
  // storage read and a flooding client spends as little of the instance as possible.
  const release = runtime.limits.admitProxy(request.clientId);
  try {
    const response = await forwardForClient(runtime, request);
    response.body.once('close', release);
    response.body.once('end', release);
    response.body.once('error', release);
    return response;
  } catch (error) {
    release();
    throw error;
  }
}

async function forwardForClient(runtime: Runtime, request: ProxyRequest): Promise<ProxyResponse> {
  const stored = await runtime.connections.requireShared(request.clientId, request.connectionId);
  // The row, read after this call arrived, is the truth: a token cached in this process must not
  // outlive a revocation (or any other end) that another host wrote. Calls of one connection at the
  // same time share that read.
  assertUsable(stored.connection);
  const provider = runtime.providers.get(stored.connection.provider);
  if (!provider.apiBaseUrl) {
    throw new BrokerError('INVALID_REQUEST', `provider "${provider.name}" has no apiBaseUrl, so it cannot be proxied`);
  }
  // Refusals happen before any credential is read or anything is sent.
  const target = buildProxyTarget(provider.apiBaseUrl, request.rawPath, request.rawQuery);
  const headers = filterRequestHeaders(request.headers, { bodyReframed: true, providerHeaders: provider.proxyHeaders });
  return forwardWithCredentials(runtime, request, stored, provider, target, headers);
}

async function forwardWithCredentials(
  runtime: Runtime,
  request: ProxyRequest,
  stored: StoredConnection,
  provider: ProviderDefinition,
  target: string,
  headers: Record<string, string>,
): Promise<ProxyResponse> {
  // Only OAuth 1.0a signs form bodies (and body placement writes into one), so only there are they held whole.
  const signsBody = provider.protocol === 'oauth1' && (isFormBody(headers) || provider.parameterPlacement === 'body');
  const body = await holdBody(request.body, signsBody ? PROXY_MAX_BODY_BYTES : PROXY_RETRY_BODY_BYTES);

  const token = await currentToken(runtime, request.clientId, request.connectionId);
  const dpop = await dpopFor(runtime, stored, token);
  const send = async (view: TokenView) => {
    const held = body instanceof Readable ? undefined : body;
    const signed = await authorize(runtime, provider, view, { url: target, method: request.method, headers, body: held }, dpop);
    const answer = await runtime.http.forward(signed, body instanceof Readable ? body : undefined);
    if (dpop) rememberNonce(dpop.nonces, target, answer.headers['dpop-nonce']);
    return answer;
  };

  let response = await send(token);
  if (dpop && !(body instanceof Readable) && asksForDpopNonce(response.status, response.headers)) {
    // RFC 9449 §9: the API wants its own nonce, now remembered for the provider; one retry carries it.
    response.body.resume();
    response = await send(token);
  }
  if (response.status === 401 && 'accessToken' in token && !(body instanceof Readable) && !refreshedRecently(runtime, stored.connection)) {
    // One refresh and one retry: the provider may have expired the token early. Without a way to
    // refresh (or when the refresh left the connection unusable, e.g. reauth_required), the
    // provider's own 401 goes back to the caller.
    const refreshed = await forceRefresh(runtime, request.clientId, request.connectionId).then(
      (connection) => isUsable(connection.status),
      () => false,
    );
    if (refreshed) {
      response.body.resume(); // the first answer is dropped; its socket goes back to the pool
      response = await send(await currentToken(runtime, request.clientId, request.connectionId));
    }
  }
  runtime.audit.count('proxy_calls', request.connectionId, request.clientId, `${Math.floor(response.status / 100)}xx`);
  return toProxyResponse(response);
}

/**
 * A provider answering 401 to every call must not turn each call into a refresh: one per connection
 * per BROKER_PROXY_401_REFRESH_INTERVAL_SECONDS, judged by the row's last refresh (written by
 * whichever instance refreshed), so the bound holds across instances.
 */
function refreshedRecently(runtime: Runtime, connection: Connection): boolean {
  if (!connection.lastRefreshedAt) return false;
  return runtime.clock.now().getTime() - Date.parse(connection.lastRefreshedAt) < runtime.limits.settings.proxyRefreshIntervalMs;
}

function isFormBody(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * Reads up to `holdBytes` of the body: a body that ends within them comes back whole (a Buffer); a
 * longer one comes back as a stream of the bytes read so far and the rest, refused past
 * PROXY_MAX_BODY_BYTES. With `holdBytes` at the maximum, a longer body is refused at once.
 */
async function holdBody(body: Buffer | Readable | undefined, holdBytes: number): Promise<Buffer | Readable | undefined> {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) {
    if (body.length > PROXY_MAX_BODY_BYTES) throw tooLarge();
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await source.next();
    if (next.done) return Buffer.concat(chunks, size);
    chunks.push(next.value);
    size += next.value.length;
    if (size > PROXY_MAX_BODY_BYTES) throw tooLarge();
    if (size > holdBytes) return Readable.from(rest(chunks, size, source), { objectMode: false });
  }
}

async function* rest(read: Buffer[], readBytes: number, source: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* read;
  let size = readBytes;
  for (;;) {
    const next = await source.next();
    if (next.done) return;
    size += next.value.length;
    if (size > PROXY_MAX_BODY_BYTES) throw tooLarge();
    yield next.value;
  }
}

function tooLarge(): BrokerError {
  return new BrokerError('PAYLOAD_TOO_LARGE', `the proxied body is larger than ${PROXY_MAX_BODY_BYTES} bytes`);
}

/** A DPoP connection's proof maker and its provider's nonces; undefined for any other connection. */
interface ProxyDpop {
  proof: (method: string, url: string, accessToken?: string) => string;
  nonces: ProviderNonces;
}

/** Read only for a DPoP-bound token: the key is sealed with the credentials, which other calls need not open. */
async function dpopFor(runtime: Runtime, stored: StoredConnection, token: TokenView): Promise<ProxyDpop | undefined> {
  if (!('accessToken' in token) || token.tokenType.toLowerCase() !== 'dpop') return undefined;
  const credentials = await runtime.connections.openCredentials(stored);
  if (credentials?.protocol !== 'oauth2' || !credentials.dpopKey) return undefined;
  const nonces = runtime.dpopNonces.for(stored.connection.provider);
  return { proof: proofMaker(credentials.dpopKey, nonces, () => runtime.clock.now()), nonces };
}

async function authorize(
  runtime: Runtime,
  provider: ProviderDefinition,
  view: TokenView,
  spec: HttpRequestSpec,
  dpop: ProxyDpop | undefined,
): Promise<HttpRequestSpec> {
  if ('accessToken' in view) {
    if (view.tokenType.toLowerCase() !== 'dpop') {
      return { ...spec, headers: { ...spec.headers, authorization: `${view.tokenType} ${view.accessToken}` } };
    }
    // RFC 9449 §7.1: a bound token goes with the DPoP scheme and a fresh proof of this very request.
    if (!dpop) throw new BrokerError('INTERNAL', 'the connection holds a DPoP-bound token but no DPoP key');
    return {
      ...spec,
      headers: { ...spec.headers, authorization: `DPoP ${view.accessToken}`, dpop: dpop.proof(spec.method, spec.url, view.accessToken) },
    };
  }
  if (provider.protocol !== 'oauth1') throw new BrokerError('INTERNAL', 'credentials do not match the provider protocol');
  const client = await oauth1Client(runtime, provider);
  return buildSignedRequest(client, {
    method: spec.method,
    url: spec.url,
    headers: spec.headers,
    body: spec.body,
    token: { token: view.oauthToken, tokenSecret: view.oauthTokenSecret },
  });
}

function toProxyResponse(response: UpstreamResponse): ProxyResponse {
  const raw: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    raw[name] = value;
  }
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(filterResponseHeaders(raw))) {
    for (const line of Array.isArray(value) ? value : [value]) headers.push([name, line]);
  }
  return { status: response.status, headers, body: response.body };
}
