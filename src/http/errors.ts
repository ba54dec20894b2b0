/**
 * The one mapping from error codes to HTTP statuses. `Record<ErrorCode, …>` makes the compiler reject
 * a code without a status.
 */
import { HttpResponseInit } from '@azure/functions';
import { BrokerError, ErrorCode, isBrokerError } from '../domain/errors';

export const HTTP_STATUS_BY_CODE: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_PROVIDER: 400,
  CONNECTION_NOT_FOUND: 404,
  CONNECTION_EXISTS: 409,
  RETURN_URL_NOT_ALLOWED: 400,
  GRANT_NOT_ALLOWED: 400,
  BINDING_REQUIRED: 400,
  BINDING_REJECTED: 403,
  CONNECT_LINK_INVALID: 410,
  SCOPES_MISSING: 409,
  PROVIDER_NOT_SUCCESSOR: 400,
  QUOTA_EXCEEDED: 429,
  RATE_LIMITED: 429,
  CONFIG_INVALID: 500,
  PROVIDER_INVALID: 500,
  SECRET_UNAVAILABLE: 503,
  CONNECTION_NOT_CONNECTED: 409,
  CONNECTION_REVOKED: 410,
  AUTHORIZATION_PENDING: 409,
  REFRESH_TIMEOUT: 503,
  REFRESH_EXHAUSTED: 409,
  REVOKED_AT_PROVIDER: 409,
  STATE_INVALID: 400,
  STATE_EXPIRED: 400,
  CALLBACK_INVALID: 400,
  CALLBACK_REJECTED: 400,
  OAUTH_TOKEN_MISMATCH: 400,
  ISSUER_MISMATCH: 400,
  OAUTH_PROVIDER_ERROR: 502,
  OAUTH_INVALID_GRANT: 502,
  OAUTH_INVALID_CLIENT: 502,
  OAUTH_ACCESS_DENIED: 403,
  OAUTH_INVALID_RESPONSE: 502,
  OAUTH_CALLBACK_NOT_CONFIRMED: 502,
  ID_TOKEN_INVALID: 502,
  PROVIDER_METADATA_INVALID: 502,
  PROVIDER_UNAVAILABLE: 502,
  PROVIDER_TIMEOUT: 504,
  PROVIDER_RESPONSE_TOO_LARGE: 502,
  PROXY_PATH_REJECTED: 400,
  PROXY_HEADER_REJECTED: 400,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_UNREACHABLE: 502,
  STORAGE_UNAVAILABLE: 503,
  CONFLICT: 409,
  DECRYPTION_FAILED: 500,
  INTERNAL: 500,
};

export function statusForCode(code: ErrorCode): number {
  return HTTP_STATUS_BY_CODE[code] ?? 500;
}

export function errorBody(code: ErrorCode, message: string, details?: Record<string, unknown>) {
  // Details may never replace the code or message (key order kept: code and message first).
  return { error: Object.assign({ code, message }, details, { code, message }) };
}

/** Maps any thrown value to the contract's JSON error. Unknown errors never leak their message. */
export function errorResponse(error: unknown): HttpResponseInit {
  const broker: BrokerError = isBrokerError(error) ? error : new BrokerError('INTERNAL', 'internal error');
  const status = statusForCode(broker.code);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (broker.retryAfterSeconds !== undefined && (status >= 500 || status === 429)) headers['retry-after'] = String(Math.ceil(broker.retryAfterSeconds));
  if (status === 502 || status === 503 || status === 504) headers['x-broker-error'] = broker.code;
  return { status, headers, jsonBody: errorBody(broker.code, broker.message, broker.details) };
}
