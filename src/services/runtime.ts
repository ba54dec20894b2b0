/**
 * What the broker's services need from the outside world, as small ports gathered in one object. The
 * composition root (src/runtime.ts) builds it from settings; tests build it around Azurite, real
 * providers, a fake clock and a fake durable client. A service reaches settings, storage, secrets,
 * the durable client, the token cache, outbound HTTP and time only through it.
 */
import type { WebhookTarget } from '../config';
import type { DurableClientLike } from '../durable/client';
import type { NotifyWebhookInput } from '../durable/contract';
import type { HttpSend } from '../oauth/http';
import type { ProviderDefinition, OAuth1ProviderDefinition, OAuth2ProviderDefinition } from '../providers/types';
import type { ForwardRequest } from '../proxy/forward';
import type { AuthorizationsRepository } from '../storage/authorizations-repo';
import type { ConnectLinksRepository } from '../storage/connect-links-repo';
import type { ConnectionWritesPort } from '../storage/connection-writes';
import type { ConnectionsRepository } from '../storage/connections-repo';
import type { RegistrationStore } from '../storage/mcp-registrations-repo';
import type { FailedWebhooksRepository } from '../storage/failed-webhooks-repo';
import type { WebhookRetrySchedule } from '../domain/webhook-retry';
import type { Telemetry } from '../telemetry/port';
import type { AuditTrail } from './audit-trail';
import type { StorageHealth } from './health';
import type { ClientLimits } from './limits';
import type { TokenCache } from './token-cache';
import type { DpopNonceBook } from '../oauth/oauth2/dpop';

export interface BrokerSettings {
  /** Public base URL without trailing slash; callbacks are `${baseUrl}/api/callback/{provider}`. */
  baseUrl: string;
  authorizationTimeoutSeconds: number;
  /** BROKER_REFRESH_MARGIN_SECONDS in ms: the most a token is refreshed ahead of its expiry. */
  refreshMarginMs: number;
  /** BROKER_REFRESH_FAILURE_SPAN_SECONDS: how long refreshes may keep failing before `reauth_required` (default 4 days). */
  refreshFailureSpanSeconds?: number;
  /** BROKER_ALLOWED_RETURN_URLS: the prefixes `returnTo` may name. */
  allowedReturnUrls: readonly URL[];
  /** BROKER_BINDING_REQUIRED_CLIENTS: client apps whose connections must carry a `bindingChallenge`. */
  bindingRequiredClients?: ReadonlySet<string>;
  /** BROKER_WEBHOOK_RETRY_*: given to each webhook delivery orchestration when it starts. */
  webhookRetry: WebhookRetrySchedule;
}

/** The only source of time for services. `sleep` is part of it so a fake clock can skip waits. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface Providers {
  /** Throws UNKNOWN_PROVIDER for a name the catalogue and the settings do not know. */
  get(name: string): ProviderDefinition;
  configured(): ProviderDefinition[];
  isConfigured(name: string): boolean;
}

export interface ProviderSecrets {
  clientSecret(provider: ProviderDefinition): Promise<string | undefined>;
  privateKey(provider: OAuth1ProviderDefinition): Promise<string | undefined>;
}

/** The public methods of a repository class, as a structural port a test can fake. */
type PortOf<T> = { [K in keyof T]: T[K] };
export type ConnectionStore = PortOf<ConnectionsRepository>;
export type AuthorizationStore = PortOf<AuthorizationsRepository>;
export type ConnectLinkStore = PortOf<ConnectLinksRepository>;
export type FailedWebhookStore = PortOf<FailedWebhooksRepository<NotifyWebhookInput>>;

/** Outbound HTTP: whole requests to providers and webhook receivers, and the proxy's streamed forward. */
export interface OutboundHttp {
  send: HttpSend;
  forward: ForwardRequest;
}

/** Who presented which key: client apps and the operator. */
export interface Access {
  /** The client app owning `presentedKey`, or undefined. */
  clientFor(presentedKey: string | undefined): string | undefined;
  isOperator(presentedKey: string | undefined): boolean;
}

export interface Runtime {
  settings: BrokerSettings;
  clock: Clock;
  providers: Providers;
  secrets: ProviderSecrets;
  connections: ConnectionStore;
  /** Rows `connections` wrote in this process, for waiters (absent: waiters poll only). */
  connectionWrites?: ConnectionWritesPort;
  authorizations: AuthorizationStore;
  connectLinks: ConnectLinkStore;
  /** The broker's client registrations at MCP servers' authorization servers, by issuer. */
  mcpRegistrations: RegistrationStore;
  durable: DurableClientLike;
  tokens: TokenCache;
  /** DPoP server nonces by provider and origin, one book per process (a nonce is no secret). */
  dpopNonces: PortOf<DpopNonceBook>;
  /** Quotas and rate limits per client (src/services/limits.ts). */
  limits: ClientLimits;
  /** Whether storage answers, for GET /api/health (src/services/health.ts). */
  health: PortOf<StorageHealth>;
  http: OutboundHttp;
  /** BROKER_WEBHOOK_URLS / _SECRETS by client id. */
  webhooks: ReadonlyMap<string, WebhookTarget>;
  /** Dead-lettered webhook deliveries. */
  failedWebhooks: FailedWebhookStore;
  /** Spans and metrics (a no-op unless telemetry is configured). */
  telemetry: Telemetry;
  /** The per-connection event log (src/services/audit-trail.ts), one per process. */
  audit: AuditPort;
}

export type AuditPort = PortOf<AuditTrail>;

export function callbackUrl(settings: Pick<BrokerSettings, 'baseUrl'>, providerName: string): string {
  return `${settings.baseUrl}/api/callback/${encodeURIComponent(providerName)}`;
}

export type { OAuth1ProviderDefinition, OAuth2ProviderDefinition };
