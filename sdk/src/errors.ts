import type { ErrorCode } from './generated/openapi';

/**
 * Codes the client itself gives to failures that carry no broker code: the request never got an
 * answer (`NETWORK_ERROR`), an answer that is not the broker's `{"error":{…}}` shape
 * (`UNEXPECTED_RESPONSE`), and a webhook delivery that does not verify (`WEBHOOK_SIGNATURE_INVALID`).
 */
export const CLIENT_ERROR_CODES = ['NETWORK_ERROR', 'UNEXPECTED_RESPONSE', 'WEBHOOK_SIGNATURE_INVALID'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * A code the broker or this client gave. `string & {}` keeps later broker codes (the contract only
 * grows) assignable without losing completion on the known ones.
 */
export type BrokerErrorCode = ErrorCode | ClientErrorCode | (string & {});

export interface BrokerApiErrorOptions {
  /** HTTP status of the answer; 0 when there was none. */
  status: number;
  /** Milliseconds the broker asked to wait (`Retry-After`), when it did. */
  retryAfterMs?: number;
  /** How many requests were sent, retries included. */
  attempts?: number;
  cause?: unknown;
}

/**
 * The one error the client throws: the broker's stable `code`, the HTTP `status` and the broker's
 * `message`. Compare `code`, never `message`.
 */
export class BrokerApiError extends Error {
  readonly code: BrokerErrorCode;
  readonly status: number;
  readonly retryAfterMs?: number;
  readonly attempts: number;

  constructor(code: BrokerErrorCode, message: string, options: BrokerApiErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerApiError';
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.attempts = options.attempts ?? 1;
  }
}

export function isBrokerApiError(value: unknown, code?: BrokerErrorCode): value is BrokerApiError {
  return value instanceof BrokerApiError && (code === undefined || value.code === code);
}

/** The broker's `{"error":{"code","message"}}`, or `UNEXPECTED_RESPONSE` for anything else. */
export async function errorFromResponse(response: Response, extra: { retryAfterMs?: number; attempts: number }): Promise<BrokerApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const options = { status: response.status, ...extra };
  if (error && typeof error.code === 'string' && typeof error.message === 'string') return new BrokerApiError(error.code, error.message, options);
  return new BrokerApiError('UNEXPECTED_RESPONSE', `the broker answered ${response.status} without an error body`, options);
}
