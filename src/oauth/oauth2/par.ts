/**
 * Pushed Authorization Requests (RFC 9126) on oauth4webapi: the parameters the broker would put in
 * the authorization URL are posted to the PAR endpoint with client authentication, and the user is
 * sent to the authorization endpoint with only `client_id` and the returned `request_uri`. The
 * state-bearing parameters thus never appear in the browser.
 * @see https://www.rfc-editor.org/rfc/rfc9126
 */
import * as oauth from 'oauth4webapi';
import { AuthorizationUrlInput, buildAuthorizationUrl } from './authorize-url';
import { authorizationServer, fromLibraryError, requestOptions, TransportOptions } from './library';
import { clientAuth, ClientAuthentication, libraryClient, TokenCallOptions } from './token-request';

export interface PushedAuthorizationInput extends AuthorizationUrlInput, ClientAuthentication {
  parUrl: string;
}

export interface PushedAuthorization {
  /** What the user's browser opens: the authorization endpoint with client_id and request_uri. */
  authorizationUrl: string;
  /** Seconds the request_uri stays valid. */
  expiresIn: number;
}

/**
 * Pushes the authorization request and returns the URL for the user.
 * @throws BrokerError with the provider's error mapped (as for the token endpoint), or OAUTH_INVALID_RESPONSE.
 */
export async function pushAuthorizationRequest(input: PushedAuthorizationInput, options: TokenCallOptions = {}): Promise<PushedAuthorization> {
  // The same parameters, checked the same way, as a front-channel request would carry.
  const front = new URL(buildAuthorizationUrl(input));
  const as = authorizationServer({ parUrl: input.parUrl, authorizationUrl: input.authorizationUrl });
  const client = libraryClient(input);
  let pushed: oauth.PushedAuthorizationResponse;
  try {
    const send = (): Promise<Response> =>
      oauth.pushedAuthorizationRequest(as, client, clientAuth(input), front.searchParams, {
        ...requestOptions(input.parUrl, options as TransportOptions),
        DPoP: options.dpop,
      });
    let response = await send();
    try {
      pushed = await oauth.processPushedAuthorizationResponse(as, client, response);
    } catch (error) {
      // RFC 9449 §8: the handle kept the server's nonce from this answer; one retry carries it.
      if (!options.dpop || !oauth.isDPoPNonceError(error)) throw error;
      response = await send();
      pushed = await oauth.processPushedAuthorizationResponse(as, client, response);
    }
  } catch (error) {
    throw fromLibraryError(error, 'PAR endpoint');
  }
  const url = new URL(input.authorizationUrl);
  for (const name of [...front.searchParams.keys()]) url.searchParams.delete(name);
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('request_uri', pushed.request_uri);
  return { authorizationUrl: url.toString(), expiresIn: pushed.expires_in };
}
