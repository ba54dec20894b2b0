/** GET|POST|PUT|PATCH|DELETE /api/connections/{id}/proxy/{*path}. */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { app, HttpRequest } from '@azure/functions';
import * as df from 'durable-functions';
import { BrokerError } from '../domain/errors';
import { clientRoute } from '../http/handler';
import { connectionIdParam } from '../http/request';
import type { HttpRequestSpec } from '../oauth/http';
import { PROXY_MAX_BODY_BYTES, proxyRequest } from '../services/proxy';

/**
 * App Service's front end canonicalises the request URL (resolving `..`, `%2e%2e`, `\\`) before the
 * app sees it, and passes the bytes as received in this header. A client that sets it itself only
 * chooses which path the policy checks and forwards, for the connection named by the route.
 */
const UNENCODED_URL_HEADER = 'x-waws-unencoded-url';

/**
 * The path after `/proxy/` exactly as the client sent it (still percent-encoded): parsing the URL
 * would resolve dot segments (`..`, `%2e%2e`) before the policy could refuse them.
 */
export function rawProxyPath(request: HttpRequest, connectionId: string): { rawPath: string; rawQuery: string } {
  const url = request.headers.get(UNENCODED_URL_HEADER) ?? request.url;
  const marker = `/connections/${connectionId}/proxy`;
  const start = url.indexOf(marker);
  if (start < 0) throw new BrokerError('PROXY_PATH_REJECTED', 'the proxy path could not be read');
  let rest = url.slice(start + marker.length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf('?');
  const path = question >= 0 ? rest.slice(0, question) : rest;
  const rawQuery = question >= 0 ? rest.slice(question + 1) : '';
  return { rawPath: path.startsWith('/') ? path.slice(1) : path, rawQuery };
}

app.http('proxy', {
  route: 'connections/{id}/proxy/{*path}',
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const connectionId = connectionIdParam(request);
    const { rawPath, rawQuery } = rawProxyPath(request, connectionId);
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (declared > PROXY_MAX_BODY_BYTES) throw new BrokerError('PAYLOAD_TOO_LARGE', `the proxied body is larger than ${PROXY_MAX_BODY_BYTES} bytes`);
    // The app runs in HTTP stream mode (see _setup.ts): the body is read as it arrives, not held whole.
    const body = request.method === 'GET' || request.body === null ? undefined : Readable.fromWeb(request.body as WebReadableStream<Uint8Array>);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const answer = await proxyRequest(runtime, {
      clientId,
      connectionId,
      method: request.method as HttpRequestSpec['method'],
      rawPath,
      rawQuery,
      headers,
      body,
    });
    return { status: answer.status, headers: answer.headers, body: Readable.toWeb(answer.body) as ReadableStream<Uint8Array> };
  }),
});
