/** Validation of client request bodies. Each problem names the field. */
import { BrokerError } from '../domain/errors';
import { CONNECTION_STATUSES, ON_EXISTING_ACCOUNT, type OnExistingAccount } from '../domain/connection';
import { CONNECT_LINK_MAX_TTL_S, type CreateConnectLinkRequest } from '../services/connect-links';
import type { StartConnectionRequest } from '../services/start-connection';
import { CONNECTION_ID_PATTERN } from './request';

const START_FIELDS = new Set(['provider', 'scopes', 'connectionId', 'endUserId', 'returnTo', 'metadata', 'bindingChallenge', 'onExistingAccount', 'grant']);
/** `grant` values of POST /connections. */
const START_GRANTS = ['authorization_code', 'client_credentials', 'device_code'] as const;
/** Fields about an end user (their browser's round trip, their upstream account), which a client credentials connection has none of. */
const END_USER_FIELDS = ['returnTo', 'bindingChallenge', 'onExistingAccount'] as const;
/** BASE64URL(SHA-256(verifier)) without padding: 43 characters (RFC 7636 §4.2's S256 shape). */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
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
  const { provider, scopes, connectionId, endUserId, returnTo, metadata, bindingChallenge, onExistingAccount } = record;
  if (typeof provider !== 'string' || provider === '') throw invalid('provider', 'is required and must be a string');
  const request: StartConnectionRequest = { provider };
  if (scopes !== undefined) request.scopes = parseScopes(scopes, 'scopes');
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
  if (bindingChallenge !== undefined) request.bindingChallenge = parseBindingChallenge(bindingChallenge);
  if (onExistingAccount !== undefined) {
    if (!(ON_EXISTING_ACCOUNT as readonly unknown[]).includes(onExistingAccount)) throw invalid('onExistingAccount', `must be one of ${ON_EXISTING_ACCOUNT.join(', ')}`);
    if (onExistingAccount === 'update' && request.endUserId === undefined) throw invalid('onExistingAccount', '"update" needs an endUserId: accounts are matched per end user');
    request.onExistingAccount = onExistingAccount as OnExistingAccount;
  }
  if (record.grant !== undefined) {
    if (!START_GRANTS.includes(record.grant as (typeof START_GRANTS)[number])) throw invalid('grant', `must be one of ${START_GRANTS.join(', ')}`);
    if (record.grant === 'client_credentials') {
      const endUserField = END_USER_FIELDS.find((field) => record[field] !== undefined);
      if (endUserField) throw invalid(endUserField, 'does not apply to grant "client_credentials" (there is no end user)');
      request.grant = 'client_credentials';
    }
    if (record.grant === 'device_code') {
      // The end user approves on another device: there is no browser round trip back to the broker.
      const browserField = (['returnTo', 'bindingChallenge'] as const).find((field) => record[field] !== undefined);
      if (browserField) throw invalid(browserField, 'does not apply to grant "device_code" (there is no callback)');
      request.grant = 'device_code';
    }
  }
  return request;
}

/** A scope list: at most 100 scope tokens (RFC 6749 §3.3 scope-token, no quotes or backslashes). */
export function parseScopes(scopes: unknown, field: string): string[] {
  if (!Array.isArray(scopes) || scopes.length > MAX_SCOPES) throw invalid(field, `must be an array of at most ${MAX_SCOPES} strings`);
  for (const scope of scopes) {
    if (typeof scope !== 'string' || scope === '' || scope.length > MAX_SCOPE_LENGTH || /[\s"\\]/.test(scope) || hasControlCharacter(scope)) {
      throw invalid(field, 'must hold non-empty scope tokens without spaces, quotes or control characters');
    }
  }
  return scopes as string[];
}

export function parseBindingChallenge(value: unknown): string {
  if (typeof value !== 'string' || !S256_CHALLENGE.test(value)) throw invalid('bindingChallenge', 'must be BASE64URL(SHA-256(verifier)): 43 characters of A–Z, a–z, 0–9, "-" or "_"');
  return value;
}

/** Body of POST /connect-links: the same fields as a start, for one provider or a choice. */
export function parseConnectLinkBody(body: unknown): CreateConnectLinkRequest {
  const record = objectBody(body, new Set(['endUserId', 'provider', 'providers', 'scopes', 'returnTo', 'bindingChallenge', 'expiresInSeconds']));
  const { endUserId, provider, providers, expiresInSeconds, ...start } = record;
  if (endUserId === undefined) throw invalid('endUserId', 'is required: a link connects one end user');
  if ((provider === undefined) === (providers === undefined)) throw invalid('provider', 'give either "provider" or "providers"');
  const names = provider !== undefined ? [provider] : providers;
  if (!Array.isArray(names) || names.length === 0 || names.length > 20 || names.some((n) => typeof n !== 'string' || n === '')) {
    throw invalid(provider !== undefined ? 'provider' : 'providers', 'must name configured providers (at most 20)');
  }
  // The start's own rules for the shared fields (a provider is needed there: the first one stands in).
  const checked = parseStartConnectionBody({ ...start, endUserId, provider: names[0] });
  if (expiresInSeconds !== undefined && (!Number.isInteger(expiresInSeconds) || (expiresInSeconds as number) < 60 || (expiresInSeconds as number) > CONNECT_LINK_MAX_TTL_S)) {
    throw invalid('expiresInSeconds', `must be an integer from 60 to ${CONNECT_LINK_MAX_TTL_S}`);
  }
  return {
    endUserId: checked.endUserId as string,
    providers: [...new Set(names as string[])],
    ...(checked.scopes ? { scopes: checked.scopes } : {}),
    ...(checked.returnTo ? { returnTo: checked.returnTo } : {}),
    ...(checked.bindingChallenge ? { bindingChallenge: checked.bindingChallenge } : {}),
    ...(expiresInSeconds !== undefined ? { expiresInSeconds: expiresInSeconds as number } : {}),
  };
}

/** Optional body of POST /connections/{id}/reauthorize. */
export function parseReauthorizeBody(body: unknown): { scopes?: string[]; bindingChallenge?: string; provider?: string } {
  const record = objectBody(body, new Set(['scopes', 'bindingChallenge', 'provider']));
  if (record.provider !== undefined && (typeof record.provider !== 'string' || record.provider === '')) throw invalid('provider', 'must be a provider name');
  return {
    ...(record.scopes !== undefined ? { scopes: parseScopes(record.scopes, 'scopes') } : {}),
    ...(record.bindingChallenge !== undefined ? { bindingChallenge: parseBindingChallenge(record.bindingChallenge) } : {}),
    ...(record.provider !== undefined ? { provider: record.provider as string } : {}),
  };
}

/** `?scopes=a,b` of GET /connections/{id}/token: the scopes the caller needs. */
export function parseRequiredScopes(query: URLSearchParams): string[] | undefined {
  const value = query.get('scopes');
  if (value === null) return undefined;
  return parseScopes(value.split(',').map((s) => s.trim()).filter((s) => s !== ''), 'scopes');
}

/** Body of POST /connections/{id}/complete. */
export function parseCompleteBody(body: unknown): { completionCode: string; bindingVerifier: string } {
  const record = objectBody(body, new Set(['completionCode', 'bindingVerifier']));
  const { completionCode, bindingVerifier } = record;
  if (typeof completionCode !== 'string' || completionCode === '' || completionCode.length > 256) throw invalid('completionCode', 'is required and must be a string');
  // RFC 7636 §4.1 verifier shape: 43–128 unreserved characters.
  if (typeof bindingVerifier !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(bindingVerifier)) {
    throw invalid('bindingVerifier', 'is required: 43–128 characters of A–Z, a–z, 0–9, "-", ".", "_" or "~"');
  }
  return { completionCode, bindingVerifier };
}

/** A JSON object body holding only `fields` (an empty body reads as `{}`). */
export function objectBody(body: unknown, fields: ReadonlySet<string>): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BrokerError('INVALID_REQUEST', 'the request body must be a JSON object');
  }
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!fields.has(key)) throw invalid(key, 'is not a known field');
  }
  return record;
}

export interface ListQuery {
  provider?: string;
  status?: string;
  endUserId?: string;
  accountSubject?: string;
  accountIssuer?: string;
  top: number;
  continuation?: string;
}

const LIST_PARAMS = new Set(['provider', 'status', 'endUserId', 'accountSubject', 'accountIssuer', 'top', 'continuation']);
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
    accountSubject: query.get('accountSubject') ?? undefined,
    accountIssuer: query.get('accountIssuer') ?? undefined,
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
