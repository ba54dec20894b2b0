/** Provider definitions as the public contract describes them (../shared/design.md, "Provider definition"). */
export type SignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'RSA-SHA1' | 'PLAINTEXT';
/** `none`: a public client (RFC 6749 §2.1), identified by `client_id` alone; PKCE is what protects its code. */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
/** Where OAuth 1.0a protocol parameters travel on signed requests (RFC 5849 §3.5). */
export type OAuth1ParameterPlacement = 'header' | 'query' | 'body';
export type ProviderProtocol = 'oauth1' | 'oauth2';
/**
 * OAuth 2.0 grants a connection may be made with: `authorization_code` (an end user consents in a
 * browser), `client_credentials` (RFC 6749 §4.4, machine to machine: no end user, no callback) and
 * `device_code` (RFC 8628: the end user approves a user code on another device; the broker polls).
 */
export const OAUTH2_GRANTS = ['authorization_code', 'client_credentials', 'device_code'] as const;
export type OAuth2Grant = (typeof OAUTH2_GRANTS)[number];
/** How a health probe calls `verifyUrl`. */
export type VerifyMethod = 'GET' | 'HEAD' | 'POST';

interface ProviderBase {
  /** Catalogue or user-chosen name, used in `/api/callback/{name}`. */
  name: string;
  displayName: string;
  /** Only origin+path prefix reachable through the proxy. */
  apiBaseUrl?: string;
  /**
   * The provider's own request headers (lower-case) that the proxy forwards besides the standard
   * ones and vendor `x-…` headers, e.g. Notion's `notion-version`.
   */
  proxyHeaders?: string[];
  clientId?: string;
  clientSecret?: string;
  /** Key Vault secret name that holds the client secret. */
  clientSecretName?: string;
  /**
   * Values for `{name}` placeholders in the URL fields (catalogue entries such as Shopify or Okta
   * need `{subdomain}`). Resolved definitions already have them substituted.
   */
  templateValues?: Record<string, string>;
  /**
   * Placeholders still unresolved in the URL fields. Present only on unconfigured catalogue
   * entries: such a provider resolves by name but cannot be used until `templateValues` names them.
   */
  templateVariables?: string[];
  /**
   * An API URL that answers 2xx for working credentials and 401/403 for revoked ones; health
   * probes call it for credentials that never expire (OAuth 1.0a, long-lived OAuth 2.0 tokens).
   */
  verifyUrl?: string;
  /** Default GET. */
  verifyMethod?: VerifyMethod;
  /** The provider stops serving this protocol after this day (`YYYY-MM-DD`, UTC). */
  deprecatedAfter?: string;
  /** The catalogue or user provider that replaces this one; connections move there on reauthorization. */
  successor?: string;
}

export interface OAuth2ProviderDefinition extends ProviderBase {
  protocol: 'oauth2';
  /** Absent only when `issuer` is set: the endpoint then comes from discovery. */
  authorizationUrl?: string;
  /** Absent only when `issuer` is set: the endpoint then comes from discovery. */
  tokenUrl?: string;
  /** RFC 7009 endpoint; absent when the provider has none (revocation then only erases locally). */
  revocationUrl?: string;
  defaultScopes: string[];
  scopeSeparator: string;
  pkce: boolean;
  clientAuthMethod: ClientAuthMethod;
  authorizationParams: Record<string, string>;
  tokenParams: Record<string, string>;
  /** False when the provider issues no refresh tokens (its tokens are long-lived). Default true. */
  refreshable?: boolean;
  /** Lifetime to assume when a token response omits `expires_in` (e.g. Salesforce). */
  expiresInFallbackSeconds?: number;
  /**
   * The authorization server's issuer identifier. With it, endpoints the definition leaves out
   * come from discovery (OpenID Connect Discovery, else RFC 8414), and ID Tokens are validated
   * against it when `openid` is among the scopes.
   */
  issuer?: string;
  /** The issuer's JSON Web Key Set, when discovery does not give it. */
  jwksUrl?: string;
  /** RFC 7662 endpoint, used to learn a token's lifetime when the token response omits it. */
  introspectionUrl?: string;
  /**
   * Push authorization requests (RFC 9126). Also used, whatever this says, when discovery reports
   * `require_pushed_authorization_requests`.
   */
  par?: boolean;
  /** The PAR endpoint, when discovery does not give it. */
  parUrl?: string;
  /** RFC 8628 device authorization endpoint (else discovered); needed by grant `device_code`. */
  deviceAuthorizationUrl?: string;
  /**
   * Sender-constrained tokens (RFC 9449 DPoP): each connection gets its own key pair, and every
   * token, refresh, revocation and proxied request carries a proof signed with it.
   */
  dpop?: boolean;
  /** The provider always sends `iss` (RFC 9207 `authorization_response_iss_parameter_supported`): a response without it is refused. */
  authorizationResponseIssRequired?: boolean;
  /**
   * How the provider returns the authorization response: `query` (the default, RFC 6749) or
   * `form_post`, a POST of the form to the callback, which keeps the code and state out of URLs,
   * browser history and request logs.
   * @see https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html
   */
  responseMode?: OAuth2ResponseMode;
  /** Grants connections to this provider may use; default `["authorization_code"]`. */
  grants?: OAuth2Grant[];
  /** The user endpoint naming who connected, for providers without OpenID Connect ID Tokens. */
  accountInfo?: AccountInfoEndpoint;
}

/**
 * A provider's user endpoint (e.g. GitHub's `https://api.github.com/user`), called once with the
 * new access token after the exchange; the named JSON fields give the upstream account.
 */
export interface AccountInfoEndpoint {
  url: string;
  /** The field holding the account's stable id (numbers are read as their decimal string). */
  subjectField: string;
  nameField?: string;
  emailField?: string;
}

export type OAuth2ResponseMode = 'query' | 'form_post';

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
  /** Extra query parameters for the resource-owner authorization URL (e.g. Trello `expiration`). */
  authorizationParams?: Record<string, string>;
}

export type ProviderDefinition = OAuth2ProviderDefinition | OAuth1ProviderDefinition;
