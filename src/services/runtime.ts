/**
 * What the broker's services need from the outside world, as one object. The wiring (src/runtime.ts)
 * builds it from settings; tests may build it around Azurite and real providers.
 */
import type { ProviderDefinition, OAuth1ProviderDefinition, OAuth2ProviderDefinition } from '../providers/types';
import type { AuthorizationsRepository } from '../storage/authorizations-repo';
import type { ConnectionsRepository } from '../storage/connections-repo';

export interface BrokerSettings {
  /** Public base URL without trailing slash; callbacks are `${baseUrl}/api/callback/{provider}`. */
  baseUrl: string;
  authorizationTimeoutSeconds: number;
  allowedReturnUrls: string[];
}

export interface Runtime {
  settings: BrokerSettings;
  /** Throws UNKNOWN_PROVIDER for a name the catalogue and the settings do not know. */
  provider(name: string): ProviderDefinition;
  configuredProviders(): ProviderDefinition[];
  isConfigured(name: string): boolean;
  clientSecret(provider: ProviderDefinition): Promise<string | undefined>;
  privateKey(provider: OAuth1ProviderDefinition): Promise<string | undefined>;
  connections: ConnectionsRepository;
  authorizations: AuthorizationsRepository;
  now(): Date;
  /** True when the client app registered a webhook URL. */
  hasWebhook(clientId: string): boolean;
}

export function callbackUrl(runtime: Runtime, providerName: string): string {
  return `${runtime.settings.baseUrl}/api/callback/${encodeURIComponent(providerName)}`;
}

export type { OAuth1ProviderDefinition, OAuth2ProviderDefinition };
