import { dispatch, SendOptions } from '../http';
import {
  buildCodeExchangeRequest,
  buildRefreshRequest,
  buildRevocationRequest,
  CodeExchangeInput,
  RefreshInput,
  RevocationInput,
} from './token-request';
import { OAuth2TokenSet, parseRevocationResponse, parseTokenResponse } from './token-response';

export interface ScopeContext {
  /** Requested (exchange) or previously granted (refresh) scopes, kept when the answer has no `scope`. */
  requestedScopes: string[];
  scopeSeparator?: string;
}

/**
 * Exchanges an authorization code (with its PKCE verifier) for tokens: build, send, parse.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function exchangeCode(input: CodeExchangeInput & ScopeContext, options?: SendOptions): Promise<OAuth2TokenSet> {
  const response = await dispatch(buildCodeExchangeRequest(input), options);
  return parseTokenResponse(response.status, response.headers, response.body, {
    requestedScopes: input.requestedScopes,
    scopeSeparator: input.scopeSeparator,
  });
}

/**
 * Refreshes an access token. The result's `refreshToken` is the rotated one when the provider
 * rotated it (`refreshTokenRotated`), else the one sent: persist it before anything else can fail.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshAccessToken(input: RefreshInput & ScopeContext, options?: SendOptions): Promise<OAuth2TokenSet> {
  const response = await dispatch(buildRefreshRequest(input), options);
  return parseTokenResponse(response.status, response.headers, response.body, {
    requestedScopes: input.requestedScopes,
    scopeSeparator: input.scopeSeparator,
    previousRefreshToken: input.refreshToken,
  });
}

/**
 * Revokes a token (RFC 7009); resolves when the provider accepted, including for unknown tokens.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revokeToken(input: RevocationInput, options?: SendOptions): Promise<void> {
  const response = await dispatch(buildRevocationRequest(input), options);
  parseRevocationResponse(response.status, response.headers, response.body);
}
