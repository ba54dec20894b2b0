/** Decrypted credentials. They exist only in memory and in sealed table properties. */
export interface OAuth2Credentials {
  protocol: 'oauth2';
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  idToken?: string;
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
  /** OAuth 1.0a temporary credentials. */
  requestToken?: string;
  requestTokenSecret?: string;
}

/** What the provider sent to the callback, sealed until the exchange consumes it. */
export interface CallbackSecrets {
  code?: string;
  oauthVerifier?: string;
}
