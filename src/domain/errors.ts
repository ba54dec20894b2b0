/**
 * The broker's one error type. Every failure carries a stable `code`; the HTTP layer maps codes to
 * statuses in one table (src/http/errors.ts), which the compiler forces to cover every code.
 * Messages never contain secrets: callers pass provider `error`/`error_description`, never raw bodies.
 */
export const ERROR_CODES = [
  // Input and access
  'INVALID_REQUEST',
  'INVALID_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'UNKNOWN_PROVIDER',
  'CONNECTION_NOT_FOUND',
  'CONNECTION_EXISTS',
  'RETURN_URL_NOT_ALLOWED',
  /** The provider's definition does not allow the grant the request named. */
  'GRANT_NOT_ALLOWED',
  // Session binding, connect links, incremental scopes
  'BINDING_REQUIRED',
  'BINDING_REJECTED',
  'CONNECT_LINK_INVALID',
  'SCOPES_MISSING',
  'PROVIDER_NOT_SUCCESSOR',
  // Quotas and rate limits (per client; per connection for forced refreshes)
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  // Configuration
  'CONFIG_INVALID',
  'PROVIDER_INVALID',
  'SECRET_UNAVAILABLE',
  // Connection lifecycle
  'CONNECTION_NOT_CONNECTED',
  'CONNECTION_REVOKED',
  'AUTHORIZATION_PENDING',
  'REFRESH_TIMEOUT',
  /** Refreshes kept failing for the configured span: the user must authorize again. */
  'REFRESH_EXHAUSTED',
  /** A health probe found the credentials refused at the provider (revoked there). */
  'REVOKED_AT_PROVIDER',
  // Callback
  'STATE_INVALID',
  'STATE_EXPIRED',
  'CALLBACK_INVALID',
  'CALLBACK_REJECTED',
  'OAUTH_TOKEN_MISMATCH',
  'ISSUER_MISMATCH',
  // Provider responses (OAuth 2.0 / OAuth 1.0a)
  'OAUTH_PROVIDER_ERROR',
  'OAUTH_INVALID_GRANT',
  'OAUTH_INVALID_CLIENT',
  'OAUTH_ACCESS_DENIED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_CALLBACK_NOT_CONFIRMED',
  /** An id_token failed validation (signature, iss, aud, exp, nonce). */
  'ID_TOKEN_INVALID',
  /** Discovered authorization server metadata is unusable (issuer mismatch, missing endpoint, http). */
  'PROVIDER_METADATA_INVALID',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_TIMEOUT',
  'PROVIDER_RESPONSE_TOO_LARGE',
  // Proxy
  'PROXY_PATH_REJECTED',
  'PROXY_HEADER_REJECTED',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNREACHABLE',
  // Storage and crypto
  'STORAGE_UNAVAILABLE',
  'CONFLICT',
  'DECRYPTION_FAILED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface BrokerErrorOptions {
  cause?: unknown;
  /** Provider's RFC 6749 §5.2 `error` value, kept verbatim. */
  providerError?: string;
  /** Provider's `error_description`, kept verbatim (providers do not put secrets there). */
  providerErrorDescription?: string;
  /** HTTP status the provider answered with, when the error came from a provider. */
  providerStatus?: number;
  /** Transient failures (5xx, 429, timeouts, resets) may be retried; terminal ones may not. */
  transient?: boolean;
  /** Seconds from a provider's `Retry-After`, when it sent one. */
  retryAfterSeconds?: number;
  /** Extra non-secret details for the JSON error body. */
  details?: Record<string, unknown>;
}

export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly transient: boolean;
  readonly providerError?: string;
  readonly providerErrorDescription?: string;
  readonly providerStatus?: number;
  readonly retryAfterSeconds?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.transient = options.transient ?? false;
    this.providerError = options.providerError;
    this.providerErrorDescription = options.providerErrorDescription;
    this.providerStatus = options.providerStatus;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

export function isBrokerError(value: unknown): value is BrokerError {
  return value instanceof BrokerError;
}
