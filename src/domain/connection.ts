/** The connection as the broker's domain sees it (storage rows are mapped in src/storage only). */
export const CONNECTION_STATUSES = [
  'awaiting_callback',
  /** Bound connections only: credentials are held, but not handed out until POST …/complete. */
  'awaiting_confirmation',
  'connected',
  'refreshing',
  'reauth_required',
  'denied',
  'expired',
  'revoked',
  'failed',
  /** `onExistingAccount: "update"` found the same upstream account on another connection: its credentials went there (`mergedInto`). */
  'merged',
] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export type Protocol = 'oauth1' | 'oauth2';

export interface ConnectionError {
  code: string;
  message: string;
  /** Provider's RFC 6749 `error`, when the provider gave one. */
  providerError?: string;
  at: string;
}

/** Who connected at the provider, as a validated OpenID Connect ID Token names them. */
export interface UpstreamAccount {
  issuer: string;
  subject: string;
  displayName?: string;
  email?: string;
}

/** What `POST /connections` does when the account it connects is already connected for the end user. */
export const ON_EXISTING_ACCOUNT = ['add', 'update'] as const;
export type OnExistingAccount = (typeof ON_EXISTING_ACCOUNT)[number];

/** Two accounts are the same when issuer and subject are (OpenID Connect Core §2: `sub` is unique per issuer). */
export function isSameAccount(a: UpstreamAccount | undefined, b: UpstreamAccount | undefined): boolean {
  return a !== undefined && b !== undefined && a.issuer === b.issuer && a.subject === b.subject;
}

/** What set `expiresAt` (see docs/configuration.md, "Token lifetimes"). */
export const EXPIRY_SOURCES = ['expires_in', 'jwt_exp', 'introspection', 'configured', 'fallback'] as const;
export type ExpirySource = (typeof EXPIRY_SOURCES)[number];

/** Consecutive failed refreshes since the last success. */
export interface RefreshAttempts {
  failures: number;
  /** ISO time of the first failure of the run. */
  firstFailureAt: string;
  /** ISO time of the latest failure. */
  lastFailureAt: string;
}

/**
 * How a connection's tokens are obtained when not by an end user's consent (absent: the
 * authorization code grant, or OAuth 1.0a). `client_credentials`: the broker fetches every token
 * itself with the client's own credentials (RFC 6749 §4.4); "refreshing" is fetching anew.
 */
export type ConnectionGrant = 'client_credentials' | 'device_code';

export interface Connection {
  /** The public id, unique per client (two clients may both hold "crm-42"). */
  connectionId: string;
  clientId: string;
  /**
   * The orchestration's instance id: `{clientId}.{connectionId}` (connectionInstanceId below), or the
   * connection id itself for connections created before ids were namespaced.
   */
  instanceId: string;
  provider: string;
  protocol: Protocol;
  status: ConnectionStatus;
  scopes: string[];
  endUserId?: string;
  metadata?: Record<string, unknown>;
  returnTo?: string;
  createdAt: string;
  updatedAt: string;
  /** Access-token expiry; null when the provider's token does not expire. */
  expiresAt: string | null;
  lastRefreshedAt: string | null;
  authorizationExpiresAt?: string;
  /** Hash reference of the authorization attempt in progress (never the state itself). */
  authorizationId?: string;
  credentialsVersion: number;
  error?: ConnectionError;
  /**
   * Held by the one refresh in flight (owner id, ISO expiry): a second refresher, such as a
   * duplicate activity run or a replaced orchestration's, backs off instead of racing it.
   */
  refreshLease?: { owner: string; until: string };
  /** When the maintain loop should next refresh (ISO); the watchdog looks for rows left overdue. */
  refreshDueAt?: string;
  /** Session binding (RFC 9700 §4.7): present when the client sent a `bindingChallenge`. */
  binding?: SessionBinding;
  /** Present once an ID Token was validated at the exchange. */
  account?: UpstreamAccount;
  /** `update`: an exchange naming an account another connection of this end user and provider holds updates that one. */
  onExistingAccount?: OnExistingAccount;
  /** Status `merged`: the connection id that received this connection's credentials. */
  mergedInto?: string;
  /** Which source set `expiresAt`; absent when it is null. */
  expiresAtSource?: ExpirySource;
  /** Present while refreshes keep failing. */
  refreshAttempts?: RefreshAttempts;
  grant?: ConnectionGrant;
  /** A device authorization's polling interval as the provider first asked it (RFC 8628 §3.2): a restarted orchestration polls at it. */
  devicePollIntervalSeconds?: number;
}

export interface SessionBinding {
  /** BASE64URL(SHA-256(bindingVerifier)), as the client sent it (a hash, not a secret). */
  challenge: string;
  /** SHA-256 of the completion code handed to the browser, and the attempt it was issued for. */
  codeHash?: string;
  issuedFor?: string;
  completedAt?: string;
}

/**
 * Connection orchestrations' instance ids, namespaced by client: `{clientId}.{connectionId}`, so the
 * id one client picks never meets another client's (no 409 oracle, no squatting, no two rows on one
 * orchestration). The public connection id stays what the client chose.
 *
 * Safe as a Durable instance id: client ids are `[A-Za-z0-9][A-Za-z0-9_.-]{0,63}` and connection ids
 * `[A-Za-z0-9_-]{1,128}`, so the result has none of the characters the Azure Storage backend forbids
 * in keys (`/ \ # ?`, control characters), never starts with `@` (entity ids) and stays far below the
 * extension's 256-character limit (DurableOrchestrationClient.MaxInstanceIdLength). It is injective:
 * connection ids hold no `.`, so the last `.` separates the two parts.
 *
 * Connections created before namespacing kept instance id = connection id (no `.`); their rows say
 * so by living in the legacy partition (src/storage/connection-keys.ts).
 */
export function connectionInstanceId(clientId: string, connectionId: string): string {
  return `${clientId}.${connectionId}`;
}

/** Statuses in which a client may read or use credentials. */
export function isUsable(status: ConnectionStatus): boolean {
  return status === 'connected' || status === 'refreshing';
}

/** Statuses from which no orchestration will move the connection on by itself. */
export function isSettled(status: ConnectionStatus): boolean {
  return status !== 'awaiting_callback' && status !== 'refreshing';
}

/** Where a successful exchange leaves a connection: bound ones wait for the client's confirmation. */
export function connectedStatus(connection: Connection): 'connected' | 'awaiting_confirmation' {
  return connection.binding && !connection.binding.completedAt ? 'awaiting_confirmation' : 'connected';
}

/** A provider's end of service, when its definition names one (`deprecatedAfter`, `successor`). */
export interface ProviderSunset {
  deprecatedAfter?: string;
  successor?: string;
}

/** The client-facing JSON view (public contract: GET /connections/{id}). */
export function toConnectionView(connection: Connection, provider?: ProviderSunset) {
  return {
    connectionId: connection.connectionId,
    provider: connection.provider,
    protocol: connection.protocol,
    status: connection.status,
    scopes: connection.scopes,
    endUserId: connection.endUserId ?? null,
    metadata: connection.metadata ?? null,
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
    expiresAt: connection.expiresAt,
    lastRefreshedAt: connection.lastRefreshedAt,
    ...(connection.expiresAtSource ? { expiresAtSource: connection.expiresAtSource } : {}),
    ...(connection.account ? { account: connection.account } : {}),
    ...(connection.mergedInto ? { mergedInto: connection.mergedInto } : {}),
    ...(connection.refreshAttempts ? { refreshAttempts: connection.refreshAttempts } : {}),
    ...(connection.grant ? { grant: connection.grant } : {}),
    ...(provider?.deprecatedAfter
      ? { providerDeprecation: { deprecatedAfter: provider.deprecatedAfter, ...(provider.successor ? { successor: provider.successor } : {}) } }
      : {}),
    ...(connection.status === 'awaiting_callback' && connection.authorizationExpiresAt
      ? { authorizationExpiresAt: connection.authorizationExpiresAt }
      : {}),
    ...(connection.error ? { error: { code: connection.error.code, message: connection.error.message } } : {}),
    ...(connection.binding ? { bound: true } : {}),
  };
}
