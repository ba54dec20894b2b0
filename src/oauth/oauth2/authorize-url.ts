import { BrokerError } from '../../domain/errors';

/** Parameters the broker sets itself; provider `authorizationParams` may not replace them. */
export const PROTOCOL_AUTHORIZATION_PARAMS: readonly string[] = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'nonce',
];

export interface AuthorizationUrlInput {
  authorizationUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: string[];
  /** How the provider joins scopes (" " per RFC 6749 §3.3; some use ","). Default " ". */
  scopeSeparator?: string;
  state: string;
  /** S256 challenge; omitted only for providers marked `pkce: false`. */
  codeChallenge?: string;
  /** OpenID Connect nonce, bound into the ID Token; sealed with the attempt like the verifier. */
  nonce?: string;
  /** Provider-specific extras (e.g. `access_type=offline`, `prompt=consent`). */
  extraParams?: Record<string, string>;
  /** `form_post` asks for the response as a POSTed form; the default (query) sends no parameter. */
  responseMode?: 'query' | 'form_post';
}

/**
 * Builds the authorization-code request URL. Query parameters already in `authorizationUrl` are
 * kept; protocol parameters always win over them, and extras naming a protocol parameter are refused.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.3
 * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html
 */
export function buildAuthorizationUrl(input: AuthorizationUrlInput): string {
  const url = new URL(input.authorizationUrl);
  for (const [name, value] of Object.entries(input.extraParams ?? {})) {
    if (PROTOCOL_AUTHORIZATION_PARAMS.includes(name)) {
      throw new BrokerError('PROVIDER_INVALID', `authorizationParams may not set the protocol parameter "${name}"`);
    }
    url.searchParams.set(name, value);
  }
  for (const name of PROTOCOL_AUTHORIZATION_PARAMS) url.searchParams.delete(name);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  if (input.scopes.length > 0) url.searchParams.set('scope', input.scopes.join(input.scopeSeparator ?? ' '));
  url.searchParams.set('state', input.state);
  if (input.codeChallenge !== undefined) {
    url.searchParams.set('code_challenge', input.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  if (input.responseMode === 'form_post') url.searchParams.set('response_mode', 'form_post');
  if (input.nonce !== undefined) url.searchParams.set('nonce', input.nonce);
  return url.toString();
}
