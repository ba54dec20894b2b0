import { type CatalogueEntry } from './definition-fields';
import { CURATED_PROVIDERS } from './curated';
import { fromGrantCatalogue, type GrantEntry } from './grant-catalogue';
import { mergeProviderLayers } from './resolve-definition';

/**
 * Builds the built-in catalogue: grant's providers (used from the npm package, not copied) with
 * the curated data merged over them.
 */
export function buildCatalogue(
  grant: Record<string, GrantEntry>,
  curated: Readonly<Record<string, CatalogueEntry>>,
): ReadonlyMap<string, CatalogueEntry> {
  const catalogue = fromGrantCatalogue(grant);
  for (const [name, entry] of Object.entries(curated)) {
    catalogue.set(name, mergeProviderLayers(catalogue.get(name), [entry]) as CatalogueEntry);
  }
  return catalogue;
}

// grant ships its catalogue as JSON data inside the npm package; it is read, never copied.
const GRANT_OAUTH: Record<string, GrantEntry> = require('grant/config/oauth.json');

/** The broker's built-in catalogue (about 220 providers), by name. */
export const CATALOGUE: ReadonlyMap<string, CatalogueEntry> = buildCatalogue(GRANT_OAUTH, CURATED_PROVIDERS);
