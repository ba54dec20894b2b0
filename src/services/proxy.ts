/**
 * The signing proxy: forwards a client's request to the provider's `apiBaseUrl` with the connection's
 * credentials (OAuth 2.0 bearer; OAuth 1.0a signature over method, URL, query and form body) and
 * returns the provider's answer as it was. Path and header rules live in src/proxy/policy.ts; nothing
 * is sent upstream when they refuse.
 */
import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isUsable } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { buildSignedRequest } from '../oauth/oauth1/signed-request';
import { buildProxyTarget, filterRequestHeaders, filterResponseHeaders } from '../proxy/policy';
import type { HttpRequestSpec } from '../oauth/http';
import { oauth1Client } from './provider-clients';
import type { DurableClientLike } from './durable';
import type { Runtime } from './runtime';
import { forceRefresh, getToken, TokenView } from './token';

export const PROXY_TIMEOUT_MS = 30_000;
/** Bodies are buffered by the Functions programming model (non-stream mode); this bounds memory. */
export const PROXY_MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface ProxyRequest {
  clientId: string;
  connectionId: string;
  method: HttpRequestSpec['method'];
  rawPath: string;
  rawQuery: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer;
}

export interface ProxyResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export async function proxyRequest(runtime: Runtime, durable: DurableClientLike, request: ProxyRequest): Promise<ProxyResponse> {
  const stored = await runtime.connections.require(request.clientId, request.connectionId);
  const provider = runtime.provider(stored.connection.provider);
  if (!provider.apiBaseUrl) {
    throw new BrokerError('INVALID_REQUEST', `provider "${provider.name}" has no apiBaseUrl, so it cannot be proxied`);
  }
  // Refusals happen before any credential is read or anything is sent.
  const target = buildProxyTarget(provider.apiBaseUrl, request.rawPath, request.rawQuery);
  const headers = filterRequestHeaders(request.headers, { bodyReframed: true });
  if (request.body && request.body.length > PROXY_MAX_BODY_BYTES) {
    throw new BrokerError('PAYLOAD_TOO_LARGE', `the proxied body is larger than ${PROXY_MAX_BODY_BYTES} bytes`);
  }

  const token = await getToken(runtime, durable, request.clientId, request.connectionId);
  const send = async (view: TokenView) => {
    const signed = await authorize(runtime, provider, view, { url: target, method: request.method, headers, body: request.body });
    return forward(signed);
  };

  let response = await send(token);
  if (response.status === 401 && 'accessToken' in token) {
    // One refresh and one retry: the provider may have expired the token early. Without a way to
    // refresh (or when the refresh left the connection unusable, e.g. reauth_required), the
    // provider's own 401 goes back to the caller.
    const refreshed = await forceRefresh(runtime, durable, request.clientId, request.connectionId).then(
      (connection) => isUsable(connection.status),
      () => false,
    );
    if (refreshed) response = await send(await getToken(runtime, durable, request.clientId, request.connectionId));
  }
  return toProxyResponse(response);
}

async function authorize(
  runtime: Runtime,
  provider: ReturnType<Runtime['provider']>,
  view: TokenView,
  spec: HttpRequestSpec,
): Promise<HttpRequestSpec> {
  if ('accessToken' in view) {
    return { ...spec, headers: { ...spec.headers, authorization: `${view.tokenType === 'Bearer' ? 'Bearer' : view.tokenType} ${view.accessToken}` } };
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

// One keep-alive pool per scheme: connection reuse is most of a proxy's cost against a fast API.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Sends with node:http(s) directly (no redirects followed, bytes untouched, no decompression). */
function forward(spec: HttpRequestSpec): Promise<UpstreamResponse> {
  const url = new URL(spec.url);
  const transport = url.protocol === 'https:' ? https : http;
  const body = spec.body && spec.body.length > 0 ? Buffer.from(spec.body) : undefined;
  const headers: Record<string, string> = { ...spec.headers };
  if (body) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { method: spec.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], timeout: PROXY_TIMEOUT_MS },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > PROXY_MAX_BODY_BYTES) {
            request.destroy();
            reject(new BrokerError('UPSTREAM_UNREACHABLE', `the provider's answer is larger than ${PROXY_MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', (error) => reject(unreachable(error)));
      },
    );
    request.on('timeout', () => {
      request.destroy();
      reject(new BrokerError('UPSTREAM_TIMEOUT', `the provider did not answer within ${PROXY_TIMEOUT_MS / 1000} s`, { transient: true }));
    });
    request.on('error', (error) => reject(unreachable(error)));
    request.end(body);
  });
}

function unreachable(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  const code = (error as { code?: string }).code;
  return new BrokerError('UPSTREAM_UNREACHABLE', `the provider could not be reached (${code ?? 'error'})`, { transient: true });
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
