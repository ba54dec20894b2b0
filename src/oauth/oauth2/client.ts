import { IdTokenCheck, UpstreamAccount, validateIdToken } from './id-token';
import {
  CodeExchangeInput,
  RefreshInput,
  requestCodeExchange,
  requestRefresh,
  requestRevocation,
  RevocationCallOptions,
  RevocationInput,
  TokenCallOptions,
} from './token-request';
import { OAuth2TokenSet, parseRevocationResponse, parseTokenResponse } from './token-response';

export interface ScopeContext {
  /** Requested (exchange) or previously granted (refresh) scopes, kept when the answer has no `scope`. */
  requestedScopes: string[];
  scopeSeparator?: string;
}

export interface CodeExchangeResult extends OAuth2TokenSet {
  /** The validated ID Token's account, when the exchange asked for one. */
  account?: UpstreamAccount;
}

/**
 * Exchanges an authorization code (with its PKCE verifier) for tokens: build and send (library,
 * through the broker's port), parse (broker: provider quirks, stable codes), then, with `idToken`,
 * validate the ID Token (library) before anything can be stored.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 */
export async function exchangeCode(
  input: CodeExchangeInput & ScopeContext & { idToken?: IdTokenCheck },
  options?: TokenCallOptions,
): Promise<CodeExchangeResult> {
  const response = await requestCodeExchange(input, options);
  const tokens = parseTokenResponse(response.status, response.headers, response.body, {
    requestedScopes: input.requestedScopes,
    scopeSeparator: input.scopeSeparator,
  });
  if (!input.idToken) return tokens;
  return { ...tokens, account: await validateIdToken(tokens, input.idToken, options) };
}

/**
 * Refreshes an access token. The result's `refreshToken` is the rotated one when the provider
 * rotated it (`refreshTokenRotated`), else the one sent: persist it before anything else can fail.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function refreshAccessToken(input: RefreshInput & ScopeContext, options?: TokenCallOptions): Promise<OAuth2TokenSet> {
  const response = await requestRefresh(input, options);
  return parseTokenResponse(response.status, response.headers, response.body, {
    requestedScopes: input.requestedScopes,
    scopeSeparator: input.scopeSeparator,
    previousRefreshToken: input.refreshToken,
  });
}

/**
 * Revokes a token (RFC 7009); resolves when the provider accepted, including for unknown tokens.
 * The broker's parser judges the answer: it accepts any 2xx, where the library's accepts only 200.
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function revokeToken(input: RevocationInput, options?: RevocationCallOptions): Promise<void> {
  const response = await requestRevocation(input, options);
  parseRevocationResponse(response.status, response.headers, response.body);
}
