/** Provider definitions as the public contract describes them (../shared/design.md, "Provider definition"). */
export type SignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'RSA-SHA1' | 'PLAINTEXT';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';
/** Where OAuth 1.0a protocol parameters travel on signed requests (RFC 5849 §3.5). */
export type OAuth1ParameterPlacement = 'header' | 'query' | 'body';

interface ProviderBase {
  /** Catalogue or user-chosen name, used in `/api/callback/{name}`. */
  name: string;
  displayName: string;
  /** Only origin+path prefix reachable through the proxy. */
  apiBaseUrl?: string;
  clientId?: string;
  clientSecret?: string;
  /** Key Vault secret name that holds the client secret. */
  clientSecretName?: string;
}

export interface OAuth2ProviderDefinition extends ProviderBase {
  protocol: 'oauth2';
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl?: string;
  defaultScopes: string[];
  scopeSeparator: string;
  pkce: boolean;
  clientAuthMethod: ClientAuthMethod;
  authorizationParams: Record<string, string>;
  tokenParams: Record<string, string>;
}

export interface OAuth1ProviderDefinition extends ProviderBase {
  protocol: 'oauth1';
  requestTokenUrl: string;
  authorizationUrl: string;
  accessTokenUrl: string;
  signatureMethod: SignatureMethod;
  parameterPlacement: OAuth1ParameterPlacement;
  /** PEM, for RSA-SHA1. */
  privateKey?: string;
  /** Key Vault secret name holding the PEM, for RSA-SHA1. */
  privateKeyName?: string;
}

export type ProviderDefinition = OAuth2ProviderDefinition | OAuth1ProviderDefinition;
