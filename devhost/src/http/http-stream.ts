/**
 * HTTP stream mode (`app.setup({ enableHttpStream: true })`): the programming model serves its own
 * HTTP endpoint (capability `HttpUri`). For each invocation the host forwards the client's request
 * there, tagged with `x-ms-invocation-id`, while the invocation itself goes over the RPC path with the
 * request's headers, query and route params as trigger metadata; the function's response comes back
 * on that forwarded request and is streamed to the client. Bodies are never held whole by the host.
 * @see https://github.com/Azure/azure-functions-nodejs-library/blob/v4.x/src/http/httpProxy.ts
 */
import { lookup } from 'node:dns/promises';
import * as http from 'node:http';
import type { RpcTypedData } from '../core-api';

export const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and `expect`, which this hop answers itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'expect']);
/** Response headers the host sets itself when writing to the client. */
const NOT_RETURNED = new Set([...HOP_BY_HOP, 'transfer-encoding', INVOCATION_ID_HEADER]);

/**
 * Connections to a model's server are reused (one agent per worker process). An agent `timeout` is
 * what lets Node apply the server's `Keep-Alive: timeout=5` hint (idle sockets are dropped a second
 * before the server would).
 */
export function modelAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, timeout: 60_000 });
}

/** Where a model's server listens, its name resolved once (a lookup per request costs more than the hop). */
export interface ModelEndpoint {
  host: string;
  port: number;
  agent: http.Agent;
}

export async function resolveModelEndpoint(httpUri: string): Promise<ModelEndpoint> {
  const url = new URL(httpUri);
  const { address } = await lookup(url.hostname);
  return { host: address, port: Number(url.port), agent: modelAgent() };
}

/** The trigger metadata the Functions host sends with a streamed HTTP invocation (headers, query, route params). */
export function streamTriggerMetadata(headers: Record<string, string>, query: URLSearchParams, params: Record<string, string>): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = {};
  for (const [name, value] of Object.entries(params)) metadata[name] = { string: value };
  metadata.Headers = { json: JSON.stringify(headers) };
  metadata.Query = { json: JSON.stringify(Object.fromEntries(query)) };
  return metadata;
}

export interface ForwardedRequest {
  /** Resolves with the model's response head (its body still streaming), or undefined when the forward failed. */
  response: Promise<http.IncomingMessage | undefined>;
  /** Drops the forwarded request (no response is coming, or the invocation failed). */
  abort(): void;
}

/**
 * Forwards `req` (method, target as sent, headers, body piped) to the model's `HttpUri`. The URL the
 * model rebuilds comes from `x-forwarded-host`/`x-forwarded-proto`.
 */
export function forwardToModel(model: ModelEndpoint, invocationId: string, req: http.IncomingMessage, publicHost: string): ForwardedRequest {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  headers[INVOCATION_ID_HEADER] = invocationId;
  headers['x-forwarded-host'] = req.headers.host ?? publicHost;
  headers['x-forwarded-proto'] = 'http';
  const upstream = http.request({ host: model.host, port: model.port, method: req.method, path: req.url ?? '/', headers, agent: model.agent });
  const response = new Promise<http.IncomingMessage | undefined>((resolve) => {
    upstream.once('response', resolve);
    upstream.once('error', () => resolve(undefined));
  });
  // A request framed without a body is sent at once rather than when its (empty) stream has ended.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) upstream.end();
  else req.pipe(upstream);
  const abort = () => {
    req.unpipe(upstream);
    upstream.destroy();
    req.resume(); // what the client still sends is read and dropped, so its connection stays usable
  };
  req.once('aborted', abort);
  req.once('error', abort);
  // A model that answered without reading the whole body will not read the rest.
  upstream.once('response', (answer) => answer.once('end', () => req.complete || abort()));
  return { response, abort };
}

/** Streams the model's response to the client; a break on either side ends the client's response early. */
export function pipeModelResponse(from: http.IncomingMessage, res: http.ServerResponse): void {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(from.headers)) {
    if (value !== undefined && !NOT_RETURNED.has(name)) headers[name] = value;
  }
  res.writeHead(from.statusCode ?? 500, headers);
  // A small answer is read whole with its head: sent with it in one write to the client (the same
  // bytes and framing), rather than a write per chunk and another for the end.
  if (from.complete) return void res.end(from.read() ?? undefined);
  from.once('aborted', () => res.destroy());
  from.once('error', () => res.destroy());
  from.pipe(res);
}
