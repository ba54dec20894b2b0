import { BrokerError } from '../../domain/errors';
import type { ClientAuthMethod } from '../../providers/types';
import type { HttpRequestSpec } from '../http';

/** How the broker authenticates to the token and revocation endpoints. */
export interface ClientAuthentication {
  clientId: string;
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
 * Token request for the authorization code grant.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.5
 */
export function buildCodeExchangeRequest(input: CodeExchangeInput): HttpRequestSpec {
  const params = new URLSearchParams({ grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri });
  if (input.codeVerifier !== undefined) params.set('code_verifier', input.codeVerifier);
  return buildTokenEndpointRequest(input.tokenUrl, params, input, input.tokenParams);
}

/**
 * Token request for the refresh token grant.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export function buildRefreshRequest(input: RefreshInput): HttpRequestSpec {
  const params = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: input.refreshToken });
  if (input.scopes && input.scopes.length > 0) params.set('scope', input.scopes.join(input.scopeSeparator ?? ' '));
  return buildTokenEndpointRequest(input.tokenUrl, params, input, input.tokenParams);
}

/**
 * Token revocation request, authenticated like the token endpoint.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function buildRevocationRequest(input: RevocationInput): HttpRequestSpec {
  const params = new URLSearchParams({ token: input.token });
  if (input.tokenTypeHint) params.set('token_type_hint', input.tokenTypeHint);
  return buildTokenEndpointRequest(input.revocationUrl, params, input, undefined);
}

function buildTokenEndpointRequest(
  url: string,
  params: URLSearchParams,
  client: ClientAuthentication,
  extraParams: Record<string, string> | undefined,
): HttpRequestSpec {
  for (const [name, value] of Object.entries(extraParams ?? {})) {
    if (PROTOCOL_TOKEN_PARAMS.includes(name)) {
      throw new BrokerError('PROVIDER_INVALID', `tokenParams may not set the protocol parameter "${name}"`);
    }
    params.set(name, value);
  }
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    // Providers such as GitHub answer form-encoded unless JSON is asked for.
    accept: 'application/json',
  };
  if (client.clientAuthMethod === 'client_secret_basic') {
    headers.authorization = basicAuthorizationHeader(client.clientId, client.clientSecret);
  } else {
    params.set('client_id', client.clientId);
    params.set('client_secret', client.clientSecret);
  }
  return { url, method: 'POST', headers, body: params.toString() };
}
