import { BrokerError } from '../../domain/errors';
import { HttpResponse, SendOptions, dispatch } from '../http';
import { OAuth1IssuedCredentials, parseCredentialsResponse } from './credentials-response';
import { buildOAuth1Request, OAuth1ClientConfig, SignedOAuth1Request, SigningOverrides } from './signed-request';

export interface RequestTokenInput {
  client: OAuth1ClientConfig;
  requestTokenUrl: string;
  /** Absolute callback URL, or `oob` (§2.1). */
  callbackUrl: string;
  /** POST unless the provider documents GET (§2.1). */
  method?: 'POST' | 'GET';
}

/**
 * Builds the temporary-credentials request (RFC 5849 §2.1): signed with the client credentials
 * only, carrying `oauth_callback`.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.1
 */
export function buildRequestTokenRequest(input: RequestTokenInput, overrides: SigningOverrides = {}): SignedOAuth1Request {
  return buildOAuth1Request(
    input.client,
    { method: input.method ?? 'POST', url: input.requestTokenUrl },
    { oauth_callback: input.callbackUrl },
    overrides,
  );
}

/**
 * Parses the temporary-credentials response; `oauth_callback_confirmed` must be `true`, otherwise
 * the provider speaks OAuth 1.0 (no verifier, session-fixation prone) → `OAUTH_CALLBACK_NOT_CONFIRMED`.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.1
 */
export function parseRequestTokenResponse(response: HttpResponse): OAuth1IssuedCredentials {
  const { credentials, params } = parseCredentialsResponse(response, 'temporary credentials');
  if (params.getAll('oauth_callback_confirmed').join() !== 'true') {
    throw new BrokerError(
      'OAUTH_CALLBACK_NOT_CONFIRMED',
      'Provider did not confirm the callback (oauth_callback_confirmed is not "true")',
    );
  }
  return credentials;
}

/** build → send → parse for temporary credentials. */
export async function obtainTemporaryCredentials(input: RequestTokenInput, options?: SendOptions): Promise<OAuth1IssuedCredentials> {
  return parseRequestTokenResponse(await dispatch(buildRequestTokenRequest(input), options));
}
