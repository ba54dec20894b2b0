import { BrokerError } from '../../domain/errors';
import type { HttpResponse } from '../http';

/** Temporary or token credentials as a provider issued them (RFC 5849 §2.1, §2.3). */
export interface OAuth1IssuedCredentials {
  token: string;
  tokenSecret: string;
  /** Other response parameters (e.g. X's `user_id`, `screen_name`), verbatim. */
  additionalParameters: Record<string, string>;
}

export type OAuth1CredentialsStep = 'temporary credentials' | 'token credentials';

const PROVIDER_TEXT_MAX_CHARS = 200;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const CREDENTIAL_FIELDS = ['oauth_token', 'oauth_token_secret'] as const;

/**
 * Parses a temporary-credentials or token-credentials response: a 2xx form-encoded body with
 * exactly one `oauth_token` and one `oauth_token_secret`.
 * - 429 and 5xx → transient `PROVIDER_UNAVAILABLE` (with `Retry-After` seconds when given);
 * - other non-2xx → `OAUTH_PROVIDER_ERROR`, keeping `oauth_problem` / `oauth_problem_advice`
 *   (or the `error` / `error_description` some servers send instead);
 * - anything else malformed → `OAUTH_INVALID_RESPONSE`.
 * Messages never quote the body: it may hold credentials.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.1
 * @see https://wiki.oauth.net/w/page/12238543/ProblemReporting
 */
export function parseCredentialsResponse(response: HttpResponse, step: OAuth1CredentialsStep): {
  credentials: OAuth1IssuedCredentials;
  params: URLSearchParams;
} {
  assertSuccessStatus(response, step);
  const text = response.body.toString('utf8').trim();
  if (!text) throw invalid(step, 'the body is empty');
  if (text.startsWith('<')) throw invalid(step, 'the body is markup, not form-encoded');
  const params = new URLSearchParams(text);
  for (const field of CREDENTIAL_FIELDS) {
    const values = params.getAll(field);
    if (values.length === 0) throw invalid(step, `"${field}" is missing`);
    if (values.length > 1) throw invalid(step, `"${field}" appears more than once`);
  }
  const token = params.get('oauth_token') as string;
  if (!token) throw invalid(step, '"oauth_token" is empty');

  const additionalParameters: Record<string, string> = {};
  for (const [name, value] of params) {
    if (name !== 'oauth_token' && name !== 'oauth_token_secret' && name !== 'oauth_callback_confirmed') {
      additionalParameters[name] = value;
    }
  }
  return {
    credentials: { token, tokenSecret: params.get('oauth_token_secret') as string, additionalParameters },
    params,
  };
}

function assertSuccessStatus(response: HttpResponse, step: OAuth1CredentialsStep): void {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  if (status === 429 || status >= 500) {
    throw new BrokerError('PROVIDER_UNAVAILABLE', `Provider could not answer the ${step} request (HTTP ${status})`, {
      transient: true,
      providerStatus: status,
      retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
    });
  }
  if (status >= 300 && status < 400) throw invalid(step, `the provider redirected (HTTP ${status})`);

  const params = safeFormParams(response.body);
  const problem = providerText(params?.get('oauth_problem') ?? params?.get('error'));
  const advice = providerText(params?.get('oauth_problem_advice') ?? params?.get('error_description'));
  throw new BrokerError(
    'OAUTH_PROVIDER_ERROR',
    `Provider refused the ${step} request (HTTP ${status}${problem ? `: ${problem}` : ''})`,
    { providerStatus: status, providerError: problem, providerErrorDescription: advice },
  );
}

function invalid(step: OAuth1CredentialsStep, reason: string): BrokerError {
  return new BrokerError('OAUTH_INVALID_RESPONSE', `Provider's ${step} response is invalid: ${reason}`);
}

function safeFormParams(body: Buffer): URLSearchParams | undefined {
  const text = body.toString('utf8').trim();
  return text && !text.startsWith('<') && !text.startsWith('{') ? new URLSearchParams(text) : undefined;
}

/** Problem texts are short protocol tokens or sentences; anything else is not echoed. */
function providerText(value: string | null | undefined): string | undefined {
  if (!value || value.length > PROVIDER_TEXT_MAX_CHARS || !PRINTABLE_ASCII.test(value)) return undefined;
  return value;
}

function parseRetryAfter(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined;
}
