/**
 * Build + send for the token and revocation endpoints, on oauth4webapi: the library builds each
 * request (grant parameters, client authentication, DPoP proofs) and hands it to the broker's
 * outbound port; what comes back is the raw answer, for the broker's parser.
 */
import * as oauth from 'oauth4webapi';
import { BrokerError } from '../../domain/errors';
import type { ClientAuthMethod } from '../../providers/types';
import type { HttpResponse } from '../http';
import { asksForDpopNonce } from './dpop';
import { authorizationServer, fromLibraryError, rawAnswerOf, requestOptions, TransportOptions } from './library';

/** How the broker authenticates to the token and revocation endpoints. */
export interface ClientAuthentication {
  clientId: string;
  /** Empty for a public client (`none`). */
  clientSecret: string;
  clientAuthMethod: ClientAuthMethod;
}

export interface CodeExchangeInput extends ClientAuthentication {
  tokenUrl: string;
  redirectUri: string;
  code: string;
  /** Present whenever the authorization request carried a code_challenge. */
  codeVerifier?: string;
  tokenParams?: Record<string, string>;
}

export interface RefreshInput extends ClientAuthentication {
  tokenUrl: string;
  refreshToken: string;
  /** Only to narrow the grant; omitted, the provider keeps the original scopes (RFC 6749 §6). */
  scopes?: string[];
  scopeSeparator?: string;
  tokenParams?: Record<string, string>;
}

export type TokenTypeHint = 'refresh_token' | 'access_token';

export interface RevocationInput extends ClientAuthentication {
  revocationUrl: string;
  token: string;
  tokenTypeHint?: TokenTypeHint;
}

/** Body parameters the broker sets itself; provider `tokenParams` may not replace them. */
export const PROTOCOL_TOKEN_PARAMS: readonly string[] = [
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'client_id',
  'client_secret',
  'token',
  'token_type_hint',
];

/**
 * application/x-www-form-urlencoded encoding of one value, as RFC 6749 §2.3.1 requires for the
 * client id and secret before they are joined and Base64-encoded (space → "+", reserved → %XX).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://url.spec.whatwg.org/#concept-urlencoded-serializer
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/**
 * `Authorization: Basic …` value for client_secret_basic.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function basicAuthorizationHeader(clientId: string, clientSecret: string): string {
  const credentials = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

/**
 * The library's client authentication for the broker's methods. client_secret_basic keeps the
 * WHATWG form encoding above (the library's own also encodes `-._*!~'()`: equally valid, but the
 * broker's header stays byte-identical to what providers saw before the move to the library).
 */
export function clientAuth(client: ClientAuthentication): oauth.ClientAuth {
  if (client.clientAuthMethod === 'none') return oauth.None();
  if (client.clientAuthMethod === 'client_secret_post') return oauth.ClientSecretPost(client.clientSecret);
  return (_as, _client, _body, headers) => {
    headers.set('authorization', basicAuthorizationHeader(client.clientId, client.clientSecret));
  };
}

export function libraryClient(client: ClientAuthentication): oauth.Client {
  return { client_id: client.clientId };
}

/** The provider's extra token parameters, refused when they name a parameter the broker sets. */
export function extraTokenParams(extra: Record<string, string> | undefined): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(extra ?? {})) {
    if (PROTOCOL_TOKEN_PARAMS.includes(name)) {
      throw new BrokerError('PROVIDER_INVALID', `tokenParams may not set the protocol parameter "${name}"`);
    }
    params.set(name, value);
  }
  return params;
}

/** Options every token-endpoint call shares (DPoP joins here when the provider asks for it). */
export interface TokenCallOptions extends TransportOptions {
  dpop?: oauth.DPoPHandle;
}

/**
 * Token request for the authorization code grant. The broker checked `state` itself (hashed,
 * single use), so the library's state check is skipped by its named opt-out.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 */
export async function requestCodeExchange(input: CodeExchangeInput, options: TokenCallOptions = {}): Promise<HttpResponse> {
  const additionalParameters = extraTokenParams(input.tokenParams);
  const as = authorizationServer({ tokenUrl: input.tokenUrl });
  const client = libraryClient(input);
  return withDpopNonceRetry(options, () => {
    const callback = oauth.validateAuthResponse(as, client, new URLSearchParams({ code: input.code }), oauth.skipStateCheck);
    return oauth.authorizationCodeGrantRequest(as, client, clientAuth(input), callback, input.redirectUri, input.codeVerifier ?? oauth.nopkce, {
      ...requestOptions(input.tokenUrl, options),
      additionalParameters,
      DPoP: options.dpop,
    });
  });
}

/**
 * Token request for the refresh token grant.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export async function requestRefresh(input: RefreshInput, options: TokenCallOptions = {}): Promise<HttpResponse> {
  const additionalParameters = extraTokenParams(input.tokenParams);
  if (input.scopes && input.scopes.length > 0) additionalParameters.set('scope', input.scopes.join(input.scopeSeparator ?? ' '));
  return withDpopNonceRetry(options, () =>
    oauth.refreshTokenGrantRequest(authorizationServer({ tokenUrl: input.tokenUrl }), libraryClient(input), clientAuth(input), input.refreshToken, {
      ...requestOptions(input.tokenUrl, options),
      additionalParameters,
      DPoP: options.dpop,
    }),
  );
}

/** Revocation is sent by the library without DPoP; a DPoP connection's proof comes from this maker. */
export interface RevocationCallOptions extends TransportOptions {
  dpopProof?: (method: 'POST', url: string) => string;
}

/**
 * Token revocation request, authenticated like the token endpoint; for a DPoP connection with a
 * proof (RFC 9449 defines none for revocation, but servers binding refresh tokens may ask for one),
 * sent once more when the server asks for a nonce.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function requestRevocation(input: RevocationInput, options: RevocationCallOptions = {}): Promise<HttpResponse> {
  const additionalParameters = new URLSearchParams(input.tokenTypeHint ? { token_type_hint: input.tokenTypeHint } : {});
  const send = async () =>
    rawAnswerOf(
      await callLibrary(() =>
        oauth.revocationRequest(authorizationServer({ revocationUrl: input.revocationUrl }), libraryClient(input), clientAuth(input), input.token, {
          ...requestOptions(input.revocationUrl, options),
          additionalParameters,
          ...(options.dpopProof ? { headers: { dpop: options.dpopProof('POST', input.revocationUrl) } } : {}),
        }),
      ),
    );
  const first = await send();
  if (!options.dpopProof || !asksForDpopNonce(first.status, first.headers, first.body)) return first;
  return send();
}

/**
 * Sends a token request; when a DPoP server answers `use_dpop_nonce`, the handle has kept the
 * nonce from that answer and the request is sent once more with a proof carrying it.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
async function withDpopNonceRetry(options: TokenCallOptions, run: () => Promise<Response>): Promise<HttpResponse> {
  const first = rawAnswerOf(await callLibrary(run));
  if (!options.dpop || !asksForDpopNonce(first.status, first.headers, first.body)) return first;
  return rawAnswerOf(await callLibrary(run));
}

/** Runs a library request; transport BrokerErrors from the port pass through unchanged. */
export async function callLibrary<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw fromLibraryError(error, 'OAuth request', 'INTERNAL');
  }
}
