/** A connection's DPoP key pair (RFC 9449) as sealed: ES256 JWKs, the private one a secret. */
export interface DpopKey {
  alg: 'ES256';
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
}

/** Decrypted credentials. They exist only in memory and in sealed table properties. */
export interface OAuth2Credentials {
  protocol: 'oauth2';
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  idToken?: string;
  /** The connection's DPoP key pair (RFC 9449), for providers that bind tokens to it. */
  dpopKey?: DpopKey;
}

export interface OAuth1Credentials {
  protocol: 'oauth1';
  oauthToken: string;
  oauthTokenSecret: string;
}

export type Credentials = OAuth2Credentials | OAuth1Credentials;

/** Secrets of an authorization attempt, sealed in its pending row. */
export interface AuthorizationSecrets {
  /** The full authorization URL; it carries the state, so it is sealed too. */
  authorizationUrl: string;
  redirectUri: string;
  scopes: string[];
  codeVerifier?: string;
  /** OpenID Connect nonce sent with the request; the ID Token must carry it back. */
  nonce?: string;
  /** DPoP key the code is bound to (PAR with DPoP); it becomes the connection's key. */
  dpopKey?: DpopKey;
  /** OAuth 1.0a temporary credentials. */
  requestToken?: string;
  requestTokenSecret?: string;
  /** RFC 8628 device code: the credential each poll of the token endpoint presents. */
  deviceCode?: string;
}

/** What the provider sent to the callback, sealed until the exchange consumes it. */
export interface CallbackSecrets {
  code?: string;
  oauthVerifier?: string;
}
