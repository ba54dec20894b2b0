import { CATALOGUE } from '../../../src/providers/catalogue';
import { CURATED_PROVIDERS } from '../../../src/providers/curated';
import { buildProviderRegistry } from '../../../src/providers/registry';
import type { OAuth1ProviderDefinition, OAuth2ProviderDefinition } from '../../../src/providers/types';

const grant: Record<string, { oauth: number; scope_delimiter?: string }> = require('grant/config/oauth.json');
const registry = buildProviderRegistry(CATALOGUE, []);

describe('built-in catalogue', () => {
  it('holds every grant provider plus the curated ones, each resolving by name with a valid definition', () => {
    const names = new Set([...Object.keys(grant), ...Object.keys(CURATED_PROVIDERS)]);
    expect(CATALOGUE.size).toBe(names.size);
    for (const name of names) {
      const definition = registry.resolve(name);
      expect(definition?.name).toBe(name);
      expect(registry.isConfigured(name)).toBe(false);
    }
    expect(registry.listConfigured()).toEqual([]);
  });

  it('curates at least 25 providers', () => {
    expect(Object.keys(CURATED_PROVIDERS).length).toBeGreaterThanOrEqual(25);
  });

  it('maps a grant OAuth 2.0 entry with grant defaults (comma scopes, credentials in the body) and PKCE on', () => {
    expect(grant.twitter2.scope_delimiter).toBe(' ');
    const definition = registry.resolve('twitter2') as OAuth2ProviderDefinition;
    expect(definition).toMatchObject({
      protocol: 'oauth2',
      authorizationUrl: 'https://twitter.com/i/oauth2/authorize',
      tokenUrl: 'https://api.twitter.com/2/oauth2/token',
      scopeSeparator: ' ',
      pkce: true,
      clientAuthMethod: 'client_secret_post',
      refreshable: true,
    });
    expect(grant.facebook.scope_delimiter).toBeUndefined();
    expect((registry.resolve('facebook') as OAuth2ProviderDefinition).scopeSeparator).toBe(',');
  });

  it('maps a grant OAuth 1.0a entry to HMAC-SHA1 in the Authorization header', () => {
    expect(registry.resolve('flickr')).toMatchObject({
      protocol: 'oauth1',
      requestTokenUrl: 'https://www.flickr.com/services/oauth/request_token',
      signatureMethod: 'HMAC-SHA1',
      parameterPlacement: 'header',
    });
  });

  it('keeps templated grant entries resolvable, marking the values they still need', () => {
    const shopify = registry.resolve('shopify') as OAuth2ProviderDefinition;
    expect(shopify.authorizationUrl).toBe('https://{subdomain}.myshopify.com/admin/oauth/authorize');
    expect(shopify.templateVariables).toEqual(['subdomain']);
    expect(registry.resolve('github')?.templateVariables).toBeUndefined();
  });

  it('carries the curated quirks as data', () => {
    expect(registry.resolve('google')).toMatchObject({
      displayName: 'Google',
      revocationUrl: 'https://oauth2.googleapis.com/revoke',
      authorizationParams: { access_type: 'offline', prompt: 'consent' },
      scopeSeparator: ' ',
    });
    expect(registry.resolve('xero')).toMatchObject({ protocol: 'oauth2', clientAuthMethod: 'client_secret_basic' });
    expect(registry.resolve('xero')).not.toHaveProperty('requestTokenUrl');
    expect(registry.resolve('x')).toMatchObject({ protocol: 'oauth2', pkce: true, defaultScopes: expect.arrayContaining(['offline.access']) });
    expect(registry.resolve('twitter') as OAuth1ProviderDefinition).toMatchObject({ protocol: 'oauth1', signatureMethod: 'HMAC-SHA1', apiBaseUrl: 'https://api.twitter.com' });
    expect(registry.resolve('trello')).toMatchObject({ protocol: 'oauth1', authorizationParams: { expiration: 'never', scope: 'read' } });
    expect(registry.resolve('salesforce')).toMatchObject({ expiresInFallbackSeconds: 7200 });
    expect(registry.resolve('facebook')).toMatchObject({ refreshable: false });
    expect(registry.resolve('microsoft')).toMatchObject({ displayName: 'Microsoft Entra ID', defaultScopes: expect.arrayContaining(['offline_access']) });
  });

  it('has only names usable in a URL path', () => {
    for (const name of CATALOGUE.keys()) expect(name).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
  });
});
