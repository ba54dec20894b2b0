/**
 * ID Token validation on oauth4webapi: the signature against the issuer's JWKS, `iss`, `aud`
 * (and `azp`), `exp`, `iat` and the `nonce` sealed at begin-authorization. The result names the
 * upstream account; nothing is stored unless this succeeds.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
 */
import * as oauth from 'oauth4webapi';
import type { UpstreamAccount } from '../../domain/connection';
import { BrokerError } from '../../domain/errors';
import { authorizationServer, fromLibraryError, requestOptions, TransportOptions } from './library';
import type { OAuth2TokenSet } from './token-response';

export interface IdTokenCheck {
  issuer: string;
  jwksUrl: string;
  clientId: string;
  /** The nonce sent in the authorization request; undefined only for requests made without one. */
  nonce?: string;
}

export type { UpstreamAccount };

/** Downloaded key sets by JWKS URL; the library refreshes an entry itself when a `kid` is unknown. */
const JWKS_CACHE = new Map<string, oauth.JWKSCacheInput>();

type TokenResponseCheck = (as: oauth.AuthorizationServer, client: oauth.Client, response: Response) => Promise<oauth.TokenEndpointResponse>;

/**
 * Validates `tokens.idToken` and returns the account it names.
 * @throws BrokerError ID_TOKEN_INVALID when the token is missing, forged, foreign, expired or replayed.
 */
export async function validateIdToken(tokens: OAuth2TokenSet, check: IdTokenCheck, transport: TransportOptions = {}): Promise<UpstreamAccount> {
  if (!tokens.idToken) throw new BrokerError('ID_TOKEN_INVALID', 'Token response has no id_token although openid was requested');
  return validatedAccount(tokens, check, transport, (as, client, response) =>
    oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: check.nonce ?? oauth.expectNoNonce,
      requireIdToken: true,
      // Token types other than Bearer/DPoP are the provider's business here; the ID Token is ours.
      recognizedTokenTypes: recognizedAsIs(tokens),
    }),
  );
}

/**
 * The ID Token of a refresh answer (OpenID Connect Core §12.2): valid as at the exchange (the nonce
 * aside, which a refreshed token need not carry), and naming the account the connection was made
 * for; a token for anybody else means the answer cannot be trusted.
 * @throws BrokerError ID_TOKEN_INVALID
 */
export async function validateRefreshedIdToken(
  tokens: OAuth2TokenSet & { idToken: string },
  check: Omit<IdTokenCheck, 'nonce'>,
  account: UpstreamAccount,
  transport: TransportOptions = {},
): Promise<void> {
  const named = await validatedAccount(tokens, check, transport, (as, client, response) =>
    oauth.processRefreshTokenResponse(as, client, response, { recognizedTokenTypes: recognizedAsIs(tokens) }),
  );
  if (named.issuer !== account.issuer || named.subject !== account.subject) {
    throw new BrokerError('ID_TOKEN_INVALID', 'the refreshed ID token names another account than the one connected');
  }
}

function recognizedAsIs(tokens: OAuth2TokenSet): oauth.RecognizedTokenTypes {
  return { [tokens.tokenType.toLowerCase()]: () => undefined };
}

async function validatedAccount(tokens: OAuth2TokenSet, check: Omit<IdTokenCheck, 'nonce'>, transport: TransportOptions, process: TokenResponseCheck): Promise<UpstreamAccount> {
  const as = authorizationServer({ issuer: check.issuer, jwksUrl: check.jwksUrl });
  const client: oauth.Client = { client_id: check.clientId };
  // The broker's parser already accepted the answer; the library gets its conform JSON form.
  const conform = new Response(JSON.stringify({ access_token: tokens.accessToken, token_type: tokens.tokenType.toLowerCase(), id_token: tokens.idToken }), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  });
  let cache = JWKS_CACHE.get(check.jwksUrl);
  if (!cache) JWKS_CACHE.set(check.jwksUrl, (cache = {}));
  try {
    const result = await process(as, client, conform);
    await oauth.validateApplicationLevelSignature(as, conform, { ...requestOptions(check.jwksUrl, transport), [oauth.jwksCache]: cache });
    const claims = oauth.getValidatedIdTokenClaims(result);
    if (!claims) throw new BrokerError('ID_TOKEN_INVALID', 'ID token carried no claims');
    return {
      issuer: claims.iss,
      subject: claims.sub,
      ...(typeof claims.name === 'string' && claims.name ? { displayName: claims.name } : {}),
      ...(typeof claims.email === 'string' && claims.email ? { email: claims.email } : {}),
    };
  } catch (error) {
    if (error instanceof BrokerError && (error.transient || error.code === 'ID_TOKEN_INVALID')) throw error;
    const broker = fromLibraryError(error, 'ID token', 'ID_TOKEN_INVALID');
    throw broker.code === 'ID_TOKEN_INVALID' ? broker : new BrokerError('ID_TOKEN_INVALID', broker.message, { details: broker.details });
  }
}
