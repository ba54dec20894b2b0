import { HttpResponse, SendOptions, dispatch } from '../http';
import { OAuth1IssuedCredentials, parseCredentialsResponse } from './credentials-response';
import type { OAuth1TokenCredentials } from './sign';
import { buildOAuth1Request, OAuth1ClientConfig, SignedOAuth1Request, SigningOverrides } from './signed-request';

export interface AccessTokenInput {
  client: OAuth1ClientConfig;
  accessTokenUrl: string;
  /** The temporary credentials from the request-token step. */
  temporaryCredentials: OAuth1TokenCredentials;
  /** `oauth_verifier` from the callback. */
  verifier: string;
  /** POST unless the provider documents GET (§2.3). */
  method?: 'POST' | 'GET';
}

/**
 * Builds the token-credentials request (RFC 5849 §2.3): signed with the client and temporary
 * credentials, carrying `oauth_verifier`.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.3
 */
export function buildAccessTokenRequest(input: AccessTokenInput, overrides: SigningOverrides = {}): SignedOAuth1Request {
  return buildOAuth1Request(
    input.client,
    { method: input.method ?? 'POST', url: input.accessTokenUrl, token: input.temporaryCredentials },
    { oauth_verifier: input.verifier },
    overrides,
  );
}

/**
 * Parses the token-credentials response.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-2.3
 */
export function parseAccessTokenResponse(response: HttpResponse): OAuth1IssuedCredentials {
  return parseCredentialsResponse(response, 'token credentials').credentials;
}

/** build → send → parse for token credentials. */
export async function obtainTokenCredentials(input: AccessTokenInput, options?: SendOptions): Promise<OAuth1IssuedCredentials> {
  return parseAccessTokenResponse(await dispatch(buildAccessTokenRequest(input), options));
}
