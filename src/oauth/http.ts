import axios, { AxiosError } from 'axios';
import { BrokerError } from '../domain/errors';

/**
 * A fully built outbound request, as returned by the pure `build*Request()` functions.
 * Sending it is the only I/O step (see {@link sendHttpRequest}).
 */
export interface HttpRequestSpec {
  url: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** What came back, whatever the status: parsing decides what a status means. */
export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with ", " (set-cookie included). */
  headers: Record<string, string>;
  body: Buffer;
}

export interface SendOptions {
  /** Whole-request timeout. */
  timeoutMs?: number;
  /** The outbound HTTP port that puts the request on the wire; {@link sendHttpRequest} unless given. */
  send?: HttpSend;
}

export type HttpSend = (req: HttpRequestSpec, opts?: SendOptions) => Promise<HttpResponse>;

/** Sends through `opts.send` when the caller names a transport, else directly. */
export function dispatch(req: HttpRequestSpec, opts: SendOptions = {}): Promise<HttpResponse> {
  return (opts.send ?? sendHttpRequest)(req, opts);
}

/** Used when the caller gives no timeout: long enough for slow token endpoints, short enough for an activity. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 10_000;

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * Sends a request to a provider and returns its answer without judging the status and without
 * following redirects (a token endpoint that redirects is misconfigured, and following could leak
 * client credentials to another host). Transport failures become transient BrokerErrors:
 * `PROVIDER_TIMEOUT` for timeouts, `PROVIDER_UNAVAILABLE` for resets, refusals and DNS failures.
 * Messages name only the target's origin, never the path or query (which may carry tokens).
 */
export async function sendHttpRequest(req: HttpRequestSpec, opts: SendOptions = {}): Promise<HttpResponse> {
  try {
    const response = await axios.request<ArrayBuffer>({
      url: req.url,
      method: req.method,
      headers: req.headers,
      data: req.body,
      timeout: opts.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      responseType: 'arraybuffer',
      validateStatus: () => true,
      maxRedirects: 0,
      // Environment proxies must not see client credentials, and targets are configured explicitly.
      proxy: false,
      // Keep bodies as given: axios would otherwise JSON-encode or re-serialise them.
      transformRequest: [(data: unknown) => data],
    });
    return {
      status: response.status,
      headers: flattenHeaders(response.headers as Record<string, unknown>),
      body: Buffer.from(response.data),
    };
  } catch (error) {
    throw toTransportError(error, req.url);
  }
}

function flattenHeaders(raw: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    headers[name.toLowerCase()] = Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }
  return headers;
}

function toTransportError(error: unknown, url: string): BrokerError {
  const origin = safeOrigin(url);
  const code = error instanceof AxiosError ? error.code : undefined;
  // The axios error is not kept as `cause`: its config holds the request headers (client secrets).
  const details = code ? { transportCode: code } : undefined;
  if (code && TIMEOUT_CODES.has(code)) {
    return new BrokerError('PROVIDER_TIMEOUT', `Provider at ${origin} did not answer in time`, { transient: true, details });
  }
  return new BrokerError('PROVIDER_UNAVAILABLE', `Provider at ${origin} could not be reached${code ? ` (${code})` : ''}`, {
    transient: true,
    details,
  });
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}
