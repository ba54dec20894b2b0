import type { CatalogueEntry } from './definition-fields';

/** One entry of grant's `config/oauth.json` (simov/grant, MIT). */
export interface GrantEntry {
  oauth: number;
  authorize_url: string;
  access_url: string;
  request_url?: string;
  scope_delimiter?: string;
}

/** grant writes URL templates as `[subdomain]`; ours are `{subdomain}`. */
function template(url: string): string {
  return url.replace(/\[([A-Za-z][A-Za-z0-9_]*)\]/g, '{$1}');
}

function displayNameOf(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * Maps grant's catalogue onto ours. Where grant's data is silent, its own runtime defaults are
 * kept, because those are what its entries were exercised with: scopes joined by "," (grant's
 * `scope_delimiter` default) and client credentials in the token request body (client_secret_post).
 * OAuth 1.0a entries sign with HMAC-SHA1 in the Authorization header, as grant does.
 * Entries with an unknown `oauth` version are skipped (none exist in grant 5.4).
 */
export function fromGrantCatalogue(grant: Record<string, GrantEntry>): Map<string, CatalogueEntry> {
  const catalogue = new Map<string, CatalogueEntry>();
  for (const [name, entry] of Object.entries(grant)) {
    if (entry.oauth === 2) {
      catalogue.set(name, {
        protocol: 'oauth2',
        displayName: displayNameOf(name),
        authorizationUrl: template(entry.authorize_url),
        tokenUrl: template(entry.access_url),
        scopeSeparator: entry.scope_delimiter ?? ',',
        clientAuthMethod: 'client_secret_post',
      });
    } else if (entry.oauth === 1 && entry.request_url !== undefined) {
      catalogue.set(name, {
        protocol: 'oauth1',
        displayName: displayNameOf(name),
        requestTokenUrl: template(entry.request_url),
        authorizationUrl: template(entry.authorize_url),
        accessTokenUrl: template(entry.access_url),
        signatureMethod: 'HMAC-SHA1',
        parameterPlacement: 'header',
      });
    }
  }
  return catalogue;
}
