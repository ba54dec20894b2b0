import { getConfig } from '../config';
import { BrokerError } from '../domain/errors';
import type { ProviderDefinition } from './types';

export type * from './types';

/** The definition of `name` (catalogue and settings merged), configured or not; undefined if unknown. */
export function resolveProvider(name: string): ProviderDefinition | undefined {
  return getConfig().providers.resolve(name);
}

/** Providers with credentials, sorted by name: what `GET /providers` lists. */
export function listConfiguredProviders(): ProviderDefinition[] {
  return getConfig().providers.listConfigured();
}

/**
 * The definition of a provider a client may use.
 *
 * @throws BrokerError UNKNOWN_PROVIDER when the name is unknown or has no credentials configured.
 */
export function requireConfiguredProvider(name: string): ProviderDefinition {
  const { providers } = getConfig();
  const definition = providers.resolve(name);
  if (!definition || !providers.isConfigured(name)) {
    throw new BrokerError('UNKNOWN_PROVIDER', `provider "${name}" is not configured`, { details: { provider: name } });
  }
  return definition;
}
