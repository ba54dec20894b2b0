/**
 * HTTP trigger ↔ RPC: builds the `RpcHttpData` the host sends for a request (body always as bytes, as
 * with the worker's RawHttpBodyBytes capability) and writes the `$return` binding's `RpcHttpData` back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcTypedData } from '../core-api';

const EMPTY = Buffer.alloc(0);

/** Reads a whole request body (a request framed without one resolves at once). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return Promise.resolve(EMPTY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The trigger's RPC value for a request. Query comes from `url` so repeated keys survive; a URL
 * without one gets an empty `query`, which spares the programming model parsing the URL again.
 */
export function toRpcHttpRequest(req: IncomingMessage, url: string, params: Record<string, string>, body: Buffer): RpcTypedData {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(k === 'cookie' ? '; ' : ', ') : v;
  }
  return {
    http: {
      method: req.method ?? 'GET',
      url,
      headers,
      params,
      ...(url.includes('?') ? {} : { query: {} }),
      body: { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) },
    },
  };
}

interface RpcNullable<T> {
  value?: T | null;
}

interface RpcCookie {
  name?: string;
  value?: string;
  domain?: RpcNullable<string> | null;
  path?: RpcNullable<string> | null;
  expires?: RpcNullable<{ seconds?: number | string }> | null;
  secure?: RpcNullable<boolean> | null;
  httpOnly?: RpcNullable<boolean> | null;
  sameSite?: string | null;
  maxAge?: RpcNullable<number> | null;
}

/** `Set-Cookie` value for an RPC cookie (RFC 6265 §4.1). */
export function formatSetCookie(c: RpcCookie): string {
  let out = `${c.name ?? ''}=${c.value ?? ''}`;
  if (c.domain?.value) out += `; domain=${c.domain.value}`;
  if (c.path?.value) out += `; path=${c.path.value}`;
  if (c.expires?.value?.seconds !== undefined) out += `; expires=${new Date(Number(c.expires.value.seconds) * 1000).toUTCString()}`;
  if (c.maxAge?.value !== undefined && c.maxAge.value !== null) out += `; max-age=${c.maxAge.value}`;
  if (c.secure?.value) out += '; secure';
  if (c.httpOnly?.value) out += '; httponly';
  const same = c.sameSite === 'lax' ? 'Lax' : c.sameSite === 'strict' ? 'Strict' : c.sameSite === 'explicitNone' ? 'None' : undefined;
  if (same) out += `; samesite=${same}`;
  return out;
}

function bodyBytes(body: RpcTypedData | null | undefined): Buffer {
  if (!body) return Buffer.alloc(0);
  if (body.bytes) return Buffer.from(body.bytes.buffer, body.bytes.byteOffset, body.bytes.byteLength);
  if (typeof body.string === 'string') return Buffer.from(body.string);
  if (typeof body.json === 'string') return Buffer.from(body.json);
  if (typeof body.int === 'number') return Buffer.from(String(body.int));
  if (typeof body.double === 'number') return Buffer.from(String(body.double));
  return Buffer.alloc(0);
}

/** Writes the function's HTTP return value; no value at all answers 204. */
export function writeRpcHttpResponse(res: ServerResponse, value: RpcTypedData | null | undefined): void {
  const http = value?.http as
    | { statusCode?: string; headers?: Record<string, string>; cookies?: RpcCookie[]; body?: RpcTypedData | null }
    | undefined;
  if (!http) {
    res.writeHead(204).end();
    return;
  }
  const status = Number.parseInt(http.statusCode ?? '200', 10) || 200;
  const body = bodyBytes(http.body);
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(http.headers ?? {})) headers[k] = v;
  const cookies = (http.cookies ?? []).map(formatSetCookie);
  if (cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), ...cookies];
  }
  if (status !== 204 && status !== 304) headers['content-length'] = String(body.length);
  res.writeHead(status, headers);
  res.end(status === 204 || status === 304 ? undefined : body);
}
