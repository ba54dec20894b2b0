import { BrokerError } from '../../domain/errors';
import {
  isUnavailableStatus,
  oauthErrorToBrokerError,
  readOAuthError,
  unavailableError,
} from './provider-error';

/** A successful token answer, checked field by field. Holds secrets: never log or persist it in clear. */
export interface OAuth2TokenSet {
  accessToken: string;
  /** "Bearer" whatever the provider's case; other types verbatim. */
  tokenType: string;
  /** Seconds, when the provider said. */
  expiresIn?: number;
  /** The rotated one when the provider sent one, otherwise the previous one (refresh), otherwise none. */
  refreshToken?: string;
  /** True when a refresh answer carried a refresh token different from the previous one. */
  refreshTokenRotated: boolean;
  /** Granted scopes when the provider said (`scope`), otherwise the requested ones. */
  scopes: string[];
  idToken?: string;
}

export interface ParseTokenResponseOptions {
  requestedScopes: string[];
  /** The refresh token that was sent, for refresh answers: kept when no new one comes back. */
  previousRefreshToken?: string;
  /** Extra separator used by the provider in `scope` (e.g. ","); whitespace always separates. */
  scopeSeparator?: string;
  /** Clock for HTTP-date Retry-After values. */
  now?: Date;
}

const TOKEN_ENDPOINT = 'Token endpoint';
const REVOCATION_ENDPOINT = 'Revocation endpoint';

/**
 * Checks a token endpoint answer (authorization code or refresh grant) and returns the token set,
 * or throws a BrokerError: RFC 6749 §5.2 errors → OAUTH_INVALID_GRANT / OAUTH_INVALID_CLIENT /
 * OAUTH_ACCESS_DENIED / OAUTH_PROVIDER_ERROR; 5xx, 429 → transient PROVIDER_UNAVAILABLE;
 * anything malformed → OAUTH_INVALID_RESPONSE. Messages never contain the body or tokens.
 * Accepts JSON and form-encoded bodies (GitHub answers form-encoded, and errors with HTTP 200).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function parseTokenResponse(
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
  options: ParseTokenResponseOptions,
): OAuth2TokenSet {
  const params = readResponseParams(headers, body);
  const oauthError = params ? readOAuthError(params) : undefined;
  if (isUnavailableStatus(status)) throw unavailableError(TOKEN_ENDPOINT, status, headers, oauthError, options.now);
  if (oauthError) throw oauthErrorToBrokerError(TOKEN_ENDPOINT, oauthError, status);
  if (status < 200 || status >= 300) throw unexpectedStatusError(TOKEN_ENDPOINT, status);
  if (!params) throw invalidResponse('body is not a JSON object or form-encoded parameters', status);

  const accessToken = optionalString(params, 'access_token', status);
  if (!accessToken) throw invalidResponse('has no access_token', status);
  const refreshToken = optionalString(params, 'refresh_token', status);
  const idToken = optionalString(params, 'id_token', status);
  const previous = options.previousRefreshToken;
  return {
    accessToken,
    tokenType: readTokenType(params, status),
    expiresIn: readExpiresIn(params, status),
    refreshToken: refreshToken ?? previous,
    refreshTokenRotated: previous !== undefined && refreshToken !== undefined && refreshToken !== previous,
    scopes: readScopes(params, options, status),
    ...(idToken ? { idToken } : {}),
  };
}

/**
 * Checks a revocation answer: any 2xx is success (RFC 7009 §2.2 — also for unknown tokens);
 * 503/5xx/429 are transient; error bodies are mapped like token errors.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export function parseRevocationResponse(
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
  options: { now?: Date } = {},
): void {
  if (status >= 200 && status < 300) return;
  const params = readResponseParams(headers, body);
  const oauthError = params ? readOAuthError(params) : undefined;
  if (isUnavailableStatus(status)) throw unavailableError(REVOCATION_ENDPOINT, status, headers, oauthError, options.now);
  if (oauthError) throw oauthErrorToBrokerError(REVOCATION_ENDPOINT, oauthError, status);
  throw unexpectedStatusError(REVOCATION_ENDPOINT, status);
}

/**
 * The answer's parameters when the body is a JSON object or form-encoded, otherwise undefined.
 * Content-Type decides; without a usable one, the body's shape does (some providers send text/plain).
 */
function readResponseParams(headers: Record<string, string>, body: Buffer | string): Record<string, unknown> | undefined {
  const text = (typeof body === 'string' ? body : body.toString('utf8')).trim();
  if (text === '') return undefined;
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  if (contentType.includes('json')) return parseJsonObject(text);
  if (contentType.includes('application/x-www-form-urlencoded')) return parseForm(text);
  if (contentType.includes('html')) return undefined;
  return text.startsWith('{') ? parseJsonObject(text) : parseForm(text);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Form bodies must look like `name=value&…` with each name once; anything else is not parameters. */
function parseForm(text: string): Record<string, unknown> | undefined {
  if (!/^[^=&\s<>]+=[^&\s<>]*(&[^=&\s<>]+=[^&\s<>]*)*$/.test(text)) return undefined;
  const params: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.prototype.hasOwnProperty.call(params, name)) return undefined;
    params[name] = value;
  }
  return params;
}

/** A string field: absent or null → undefined; present but not a non-empty string → invalid. */
function optionalString(params: Record<string, unknown>, name: string, status: number): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') throw invalidResponse(`has a ${name} that is not a non-empty string`, status);
  return value;
}

/** RFC 6749 §7.1: the type is case-insensitive. Absent (some providers omit it) means Bearer. */
function readTokenType(params: Record<string, unknown>, status: number): string {
  const tokenType = optionalString(params, 'token_type', status);
  if (tokenType === undefined || tokenType.toLowerCase() === 'bearer') return 'Bearer';
  return tokenType;
}

/** Seconds as a JSON number or a numeric string (form bodies); fractions are rounded down. */
function readExpiresIn(params: Record<string, unknown>, status: number): number | undefined {
  const value = params.expires_in;
  if (value === undefined || value === null || value === '') return undefined;
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds < 0) throw invalidResponse('has an expires_in that is not a non-negative number', status);
  return Math.floor(seconds);
}

/** RFC 6749 §5.1: `scope` present means the granted scopes; absent, the requested ones stand. */
function readScopes(params: Record<string, unknown>, options: ParseTokenResponseOptions, status: number): string[] {
  const value = params.scope;
  if (value === undefined || value === null) return [...options.requestedScopes];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.filter((item) => item !== '');
  if (typeof value !== 'string') throw invalidResponse('has a scope that is not a string', status);
  const separator = options.scopeSeparator && options.scopeSeparator.trim() !== '' ? options.scopeSeparator : undefined;
  const parts = separator ? value.split(separator).flatMap((part) => part.split(/\s+/)) : value.split(/\s+/);
  return parts.filter((part) => part !== '');
}

function unexpectedStatusError(endpoint: string, status: number): BrokerError {
  // 401 without an error body is still the client authentication failing (RFC 6749 §5.2).
  if (status === 401) return new BrokerError('OAUTH_INVALID_CLIENT', `${endpoint} rejected the client (HTTP 401)`, { providerStatus: status });
  if (status >= 300 && status < 400) {
    return new BrokerError('OAUTH_INVALID_RESPONSE', `${endpoint} answered with a redirect (HTTP ${status})`, { providerStatus: status });
  }
  return new BrokerError('OAUTH_PROVIDER_ERROR', `${endpoint} answered HTTP ${status} without an OAuth error`, { providerStatus: status });
}

function invalidResponse(problem: string, status: number): BrokerError {
  return new BrokerError('OAUTH_INVALID_RESPONSE', `Token response ${problem}`, { providerStatus: status });
}
