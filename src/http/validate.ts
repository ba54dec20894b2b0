/** Validation of client request bodies. Each problem names the field. */
import { BrokerError } from '../domain/errors';
import { CONNECTION_STATUSES } from '../domain/connection';
import type { StartConnectionRequest } from '../services/start-connection';
import { CONNECTION_ID_PATTERN } from './request';

const START_FIELDS = new Set(['provider', 'scopes', 'connectionId', 'endUserId', 'returnTo', 'metadata']);
const MAX_SCOPES = 100;
const MAX_SCOPE_LENGTH = 256;
const MAX_END_USER_ID_LENGTH = 256;
const MAX_METADATA_BYTES = 4096;

function hasControlCharacter(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function invalid(field: string, problem: string): BrokerError {
  return new BrokerError('INVALID_REQUEST', `"${field}" ${problem}`, { details: { field } });
}

export function parseStartConnectionBody(body: unknown): StartConnectionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BrokerError('INVALID_REQUEST', 'the request body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!START_FIELDS.has(key)) throw invalid(key, 'is not a known field');
  }
  const { provider, scopes, connectionId, endUserId, returnTo, metadata } = record;
  if (typeof provider !== 'string' || provider === '') throw invalid('provider', 'is required and must be a string');
  const request: StartConnectionRequest = { provider };
  if (scopes !== undefined) {
    if (!Array.isArray(scopes) || scopes.length > MAX_SCOPES) throw invalid('scopes', `must be an array of at most ${MAX_SCOPES} strings`);
    for (const scope of scopes) {
      if (typeof scope !== 'string' || scope === '' || scope.length > MAX_SCOPE_LENGTH || /[\s"\\]/.test(scope) || hasControlCharacter(scope)) {
        throw invalid('scopes', 'must hold non-empty scope tokens without spaces, quotes or control characters');
      }
    }
    request.scopes = scopes as string[];
  }
  if (connectionId !== undefined) {
    if (typeof connectionId !== 'string' || !CONNECTION_ID_PATTERN.test(connectionId)) {
      throw invalid('connectionId', 'must be 1–128 characters of A–Z, a–z, 0–9, "_" or "-"');
    }
    request.connectionId = connectionId;
  }
  if (endUserId !== undefined) {
    if (typeof endUserId !== 'string' || endUserId === '' || endUserId.length > MAX_END_USER_ID_LENGTH || hasControlCharacter(endUserId)) {
      throw invalid('endUserId', `must be a string of 1–${MAX_END_USER_ID_LENGTH} printable characters`);
    }
    request.endUserId = endUserId;
  }
  if (returnTo !== undefined) {
    // The URL parser silently drops CR, LF and tabs, so the URL checked would not be the one written.
    if (typeof returnTo !== 'string' || returnTo === '' || hasControlCharacter(returnTo)) throw invalid('returnTo', 'must be a URL string without control characters');
    request.returnTo = returnTo;
  }
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalid('metadata', 'must be a JSON object');
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) throw invalid('metadata', `must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
    request.metadata = metadata as Record<string, unknown>;
  }
  return request;
}

export interface ListQuery {
  provider?: string;
  status?: string;
  endUserId?: string;
  top: number;
  continuation?: string;
}

const LIST_PARAMS = new Set(['provider', 'status', 'endUserId', 'top', 'continuation']);
const PAGE_PARAMS = new Set(['top', 'continuation']);

function assertKnownOnce(query: URLSearchParams, known: ReadonlySet<string>): void {
  for (const key of query.keys()) {
    if (!known.has(key)) throw invalid(key, 'is not a known query parameter');
    if (query.getAll(key).length > 1) throw invalid(key, 'must be given at most once');
  }
}

function parseTop(query: URLSearchParams): number {
  const topText = query.get('top');
  const top = topText === null ? 50 : Number(topText);
  if (!Number.isInteger(top) || top < 1 || top > 1000) throw invalid('top', 'must be an integer from 1 to 1000');
  return top;
}

/** `top` and `continuation` only (a connection's event log). */
export function parsePageQuery(query: URLSearchParams): { top: number; continuation?: string } {
  assertKnownOnce(query, PAGE_PARAMS);
  return { top: parseTop(query), continuation: query.get('continuation') ?? undefined };
}

export function parseListQuery(query: URLSearchParams): ListQuery {
  assertKnownOnce(query, LIST_PARAMS);
  const status = query.get('status') ?? undefined;
  if (status !== undefined && !(CONNECTION_STATUSES as readonly string[]).includes(status)) {
    throw invalid('status', `must be one of ${CONNECTION_STATUSES.join(', ')}`);
  }
  return {
    provider: query.get('provider') ?? undefined,
    status,
    endUserId: query.get('endUserId') ?? undefined,
    top: parseTop(query),
    continuation: query.get('continuation') ?? undefined,
  };
}

const MAX_CLIENT_ID_LENGTH = 128;

/**
 * The operator routes' `clientId` query parameter: which client's connection is meant, since
 * connection ids are unique per client only. At most once, 1–128 characters.
 */
export function parseOperatorClientId(query: URLSearchParams): string | undefined {
  const clientIds = query.getAll('clientId');
  if (clientIds.length > 1 || (clientIds.length === 1 && (clientIds[0] === '' || clientIds[0].length > MAX_CLIENT_ID_LENGTH))) {
    throw invalid('clientId', `must be given at most once and be 1–${MAX_CLIENT_ID_LENGTH} characters`);
  }
  return clientIds[0];
}
