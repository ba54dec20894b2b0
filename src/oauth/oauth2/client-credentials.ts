/**
 * Client credentials grant (RFC 6749 §4.4) on oauth4webapi: machine-to-machine tokens with no end
 * user and no callback. Parsed like every token answer (provider quirks, stable codes).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
import * as oauth from 'oauth4webapi';
import { authorizationServer, rawAnswerOf, requestOptions } from './library';
import { callLibrary, clientAuth, ClientAuthentication, extraTokenParams, libraryClient, TokenCallOptions } from './token-request';
import { OAuth2TokenSet, parseTokenResponse } from './token-response';

export interface ClientCredentialsInput extends ClientAuthentication {
  tokenUrl: string;
  scopes: string[];
  scopeSeparator?: string;
  tokenParams?: Record<string, string>;
}

export async function obtainClientCredentialsToken(input: ClientCredentialsInput, options: TokenCallOptions = {}): Promise<OAuth2TokenSet> {
  const parameters = extraTokenParams(input.tokenParams);
  if (input.scopes.length > 0) parameters.set('scope', input.scopes.join(input.scopeSeparator ?? ' '));
  const response = await callLibrary(() =>
    oauth.clientCredentialsGrantRequest(authorizationServer({ tokenUrl: input.tokenUrl }), libraryClient(input), clientAuth(input), parameters, {
      ...requestOptions(input.tokenUrl, options),
      DPoP: options.dpop,
    }),
  );
  const answer = rawAnswerOf(response);
  return parseTokenResponse(answer.status, answer.headers, answer.body, { requestedScopes: input.scopes, scopeSeparator: input.scopeSeparator });
}
