import { BrokerError, ErrorCode } from '../../domain/errors';

/** RFC 6749 §5.2 error codes (plus known aliases) → broker codes; anything else is OAUTH_PROVIDER_ERROR. */
const ERROR_CODE_BY_OAUTH_ERROR: Record<string, ErrorCode> = {
  invalid_grant: 'OAUTH_INVALID_GRANT',
  invalid_client: 'OAUTH_INVALID_CLIENT',
  unauthorized_client: 'OAUTH_INVALID_CLIENT',
  access_denied: 'OAUTH_ACCESS_DENIED',
  // GitHub's names for an unusable code / refresh token, answered with HTTP 200.
  bad_verification_code: 'OAUTH_INVALID_GRANT',
  bad_refresh_token: 'OAUTH_INVALID_GRANT',
};

/** Errors a provider uses for its own temporary trouble: worth retrying. */
const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

/** RFC 6749 §5.2: error is %x20-21 / %x23-5B / %x5D-7E. Anything else is not a real error code. */
const ERROR_VALUE_PATTERN = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
const MAX_DESCRIPTION_CHARS = 500;

export interface OAuthErrorFields {
  error: string;
  errorDescription?: string;
}

/** Reads `error`/`error_description` when they are well-formed, otherwise undefined. */
export function readOAuthError(params: Record<string, unknown>): OAuthErrorFields | undefined {
  const { error, error_description: description } = params;
  if (typeof error !== 'string' || !ERROR_VALUE_PATTERN.test(error)) return undefined;
  return {
    error,
    errorDescription: typeof description === 'string' ? description.slice(0, MAX_DESCRIPTION_CHARS) : undefined,
  };
}

/**
 * The BrokerError for an RFC 6749 §5.2 error answer from the token or revocation endpoint.
 * The message names the endpoint and the provider's error code only; the description is kept in
 * its own field.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function oauthErrorToBrokerError(endpoint: string, fields: OAuthErrorFields, status: number): BrokerError {
  const transient = TRANSIENT_OAUTH_ERRORS.has(fields.error);
  const code: ErrorCode = transient ? 'PROVIDER_UNAVAILABLE' : (ERROR_CODE_BY_OAUTH_ERROR[fields.error] ?? 'OAUTH_PROVIDER_ERROR');
  return new BrokerError(code, `${endpoint} answered ${fields.error} (HTTP ${status})`, {
    providerError: fields.error,
    providerErrorDescription: fields.errorDescription,
    providerStatus: status,
    transient,
  });
}

/**
 * Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (past dates → 0).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function parseRetryAfter(value: string | undefined, now: Date = new Date()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // Every HTTP-date form starts with a day name; Date.parse alone would read "-5" as a year.
  const date = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** 5xx, 429 and 408 mean "not now": transient, with Retry-After when the provider sent one. */
export function unavailableError(
  endpoint: string,
  status: number,
  headers: Record<string, string>,
  fields: OAuthErrorFields | undefined,
  now?: Date,
): BrokerError {
  return new BrokerError(status === 408 ? 'PROVIDER_TIMEOUT' : 'PROVIDER_UNAVAILABLE', `${endpoint} is unavailable (HTTP ${status})`, {
    providerError: fields?.error,
    providerErrorDescription: fields?.errorDescription,
    providerStatus: status,
    transient: true,
    retryAfterSeconds: parseRetryAfter(headers['retry-after'], now),
  });
}

/** Statuses that say "try again later" rather than "this request is wrong". */
export function isUnavailableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}
