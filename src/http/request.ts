/** Reading HTTP input: the presented key, size-limited JSON bodies, route parameters. */
import type { HttpRequest } from '@azure/functions';
import { BrokerError } from '../domain/errors';

/** JSON bodies of the broker's own routes are small; larger ones are refused before parsing. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

/** `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(request: HttpRequest): string | undefined {
  const authorization = request.headers.get('authorization');
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  return request.headers.get('x-api-key') ?? undefined;
}

/**
 * Reads a JSON body of at most `maxBytes`, refusing it as soon as more arrive (the app runs in HTTP
 * stream mode, so the body is read as it comes and a sender cannot make the broker hold more).
 */
export async function readJsonBody(request: HttpRequest, maxBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readAtMost(request, maxBytes);
  if (bytes.length === 0) throw new BrokerError('INVALID_JSON', 'the request body must be a JSON object');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BrokerError('INVALID_JSON', 'the request body is not valid JSON');
  }
}

/** Like {@link readJsonBody}, but an empty body reads as undefined (routes whose body is optional). */
export async function readOptionalJsonBody(request: HttpRequest, maxBytes = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readAtMost(request, maxBytes);
  if (bytes.toString('utf8').trim() === '') return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BrokerError('INVALID_JSON', 'the request body is not valid JSON');
  }
}

async function readAtMost(request: HttpRequest, maxBytes: number): Promise<Buffer> {
  if (request.body === null) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
}

/** Connection ids become durable instance ids and table keys: a conservative alphabet. */
export const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function connectionIdParam(request: HttpRequest): string {
  const id = request.params.id ?? '';
  if (!CONNECTION_ID_PATTERN.test(id)) {
    // Not a valid id means no such connection; same answer as an unknown one.
    throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
  }
  return id;
}

function tooLarge(maxBytes: number): BrokerError {
  return new BrokerError('PAYLOAD_TOO_LARGE', `the request body is larger than ${maxBytes} bytes`);
}
