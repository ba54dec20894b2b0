import { type CatalogueEntry, parseProviderLayer, type ProviderLayer, providerInvalid } from './definition-fields';
import { resolveProviderDefinition, mergeProviderLayers, type ResolvedProvider } from './resolve-definition';
import type { ProviderDefinition } from './types';

/** Parsed JSON of one settings source of provider definitions, lowest precedence first. */
export interface ProviderSource {
  /** Where the JSON came from, for error messages (e.g. "BROKER_PROVIDERS"). */
  source: string;
  json: unknown;
}

/** Every provider the broker knows: the catalogue plus user definitions, resolved once at start-up. */
export interface ProviderRegistry {
  /** The definition by name, configured or not; undefined for an unknown name. */
  resolve(name: string): ProviderDefinition | undefined;
  /** True when the provider has credentials (and its URL templates are filled). */
  isConfigured(name: string): boolean;
  /** Configured providers sorted by name (what `GET /providers` lists). */
  listConfigured(): ProviderDefinition[];
}

/**
 * Resolves the catalogue and the user sources (file, then inline, each merged field-wise over the
 * previous). Every definition is validated eagerly so a bad one fails start-up.
 *
 * @throws BrokerError PROVIDER_INVALID naming the provider and the field.
 */
export function buildProviderRegistry(catalogue: ReadonlyMap<string, CatalogueEntry>, sources: readonly ProviderSource[]): ProviderRegistry {
  const userLayers = new Map<string, ProviderLayer[]>();
  for (const { source, json } of sources) {
    for (const [name, layer] of parseProviderLayer(json, source)) {
      userLayers.set(name, [...(userLayers.get(name) ?? []), layer]);
    }
  }
  const resolved = new Map<string, ResolvedProvider>();
  for (const name of new Set([...catalogue.keys(), ...userLayers.keys()])) {
    const layers = userLayers.get(name);
    resolved.set(name, resolveProviderDefinition(name, mergeProviderLayers(catalogue.get(name), layers ?? []), layers !== undefined));
  }
  for (const [name, { definition }] of resolved) {
    if (definition.successor !== undefined && !resolved.has(definition.successor)) {
      throw providerInvalid(name, 'successor', `names "${definition.successor}", which is neither in the catalogue nor defined`);
    }
  }
  const configured = [...resolved.values()]
    .filter((r) => r.configured)
    .map((r) => r.definition)
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    resolve: (name) => resolved.get(name)?.definition,
    isConfigured: (name) => resolved.get(name)?.configured ?? false,
    listConfigured: () => [...configured],
  };
}
