/**
 * The proxy's outbound leg: sends with node:http(s) directly (no redirects followed, bytes untouched,
 * no decompression) over one keep-alive pool per scheme. The runtime hands it to the proxy service as
 * part of its outbound-HTTP port.
 */
import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { BrokerError } from '../domain/errors';
import type { HttpRequestSpec } from '../oauth/http';

/** Idle time allowed on the provider's connection (no bytes either way), before and during the answer. */
export const PROXY_TIMEOUT_MS = 30_000;

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Resolves when the answer's head arrives; its body streams on. A `stream` body is piped chunked. */
export type ForwardRequest = (spec: HttpRequestSpec, stream?: Readable) => Promise<UpstreamResponse>;

// Connection reuse is most of a proxy's cost against a fast API.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export const forwardRequest: ForwardRequest = (spec, stream) => {
  const url = new URL(spec.url);
  const transport = url.protocol === 'https:' ? https : http;
  const body = spec.body && spec.body.length > 0 ? Buffer.from(spec.body) : undefined;
  const headers: Record<string, string> = { ...spec.headers };
  if (body) headers['content-length'] = String(body.length);
  // Explicit, since node:http frames no body by default for DELETE.
  if (stream) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { method: spec.method, headers, agent: agents[url.protocol as 'http:' | 'https:'], timeout: PROXY_TIMEOUT_MS },
      (response) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: response }),
    );
    request.on('timeout', () => {
      // Before the answer this rejects; during it, the answer's stream ends with the error.
      request.destroy(new BrokerError('UPSTREAM_TIMEOUT', `the provider did not answer within ${PROXY_TIMEOUT_MS / 1000} s`, { transient: true }));
    });
    request.on('error', (error) => reject(unreachable(error)));
    if (stream) {
      stream.once('error', (error) => request.destroy(error));
      stream.pipe(request);
    } else {
      request.end(body);
    }
  });
};

function unreachable(error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  const code = (error as { code?: string }).code;
  return new BrokerError('UPSTREAM_UNREACHABLE', `the provider could not be reached (${code ?? 'error'})`, { transient: true });
}
