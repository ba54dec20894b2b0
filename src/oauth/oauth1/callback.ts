import { BrokerError } from '../../domain/errors';

/** What the provider's redirect back to the broker says (RFC 5849 §2.2). */
export type OAuth1CallbackResult =
  | { outcome: 'authorized'; oauthToken: string; oauthVerifier: string }
  /** `oauthToken` identifies the pending authorization; `problem` is the provider's reason token. */
  | { outcome: 'denied'; oauthToken: string; problem: string };

/**
 * Parses the callback query. Authorized: exactly one non-empty `oauth_token` and `oauth_verifier`.
 * Denied: `denied=<request token>` (X/Twitter style) or `oauth_problem=…` with `oauth_token`.
 * Anything else is `CALLBACK_INVALID`; messages name parameters, never their values.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.2
 */
export function parseOAuth1Callback(query: URLSearchParams | string): OAuth1CallbackResult {
  const params = typeof query === 'string' ? new URLSearchParams(query) : query;
  const denied = single(params, 'denied');
  const problem = single(params, 'oauth_problem');
  const oauthToken = single(params, 'oauth_token');

  if (denied !== undefined || problem !== undefined) {
    const token = oauthToken || denied;
    if (!token) throw invalid('a denial without oauth_token or denied value');
    return { outcome: 'denied', oauthToken: token, problem: problem || 'access_denied' };
  }
  const oauthVerifier = single(params, 'oauth_verifier');
  if (!oauthToken) throw invalid('no oauth_token');
  if (!oauthVerifier) throw invalid('no oauth_verifier');
  return { outcome: 'authorized', oauthToken, oauthVerifier };
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw invalid(`${name} more than once`);
  return values[0];
}

function invalid(what: string): BrokerError {
  return new BrokerError('CALLBACK_INVALID', `OAuth 1.0a callback has ${what}`);
}
