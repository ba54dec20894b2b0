import { BrokerError } from '../../../src/domain/errors';
import { CATALOGUE } from '../../../src/providers/catalogue';
import { buildProviderRegistry, type ProviderSource } from '../../../src/providers/registry';

const acme = {
  protocol: 'oauth2',
  authorizationUrl: 'http://127.0.0.1:4010/authorize',
  tokenUrl: 'http://127.0.0.1:4010/token',
  clientId: 'acme-client',
  clientSecret: 'acme-secret',
};
const legacy = {
  protocol: 'oauth1',
  requestTokenUrl: 'https://legacy.example/oauth/request_token',
  authorizationUrl: 'https://legacy.example/oauth/authorize',
  accessTokenUrl: 'https://legacy.example/oauth/access_token',
  clientId: 'ck',
  clientSecret: 'cs',
};

function build(...layers: unknown[]) {
  const sources: ProviderSource[] = layers.map((json, i) => ({ source: i === 0 ? 'BROKER_PROVIDERS_FILE' : 'BROKER_PROVIDERS', json }));
  return buildProviderRegistry(CATALOGUE, sources);
}

function errorOf(run: () => unknown): BrokerError {
  try {
    run();
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected an error');
}

describe('provider registry', () => {
  it('when a user defines an OAuth 2.0 provider on loopback http, then it is configured with RFC defaults', () => {
    const registry = build({ acme });
    expect(registry.resolve('acme')).toEqual({
      name: 'acme',
      displayName: 'acme',
      protocol: 'oauth2',
      authorizationUrl: 'http://127.0.0.1:4010/authorize',
      tokenUrl: 'http://127.0.0.1:4010/token',
      clientId: 'acme-client',
      clientSecret: 'acme-secret',
      defaultScopes: [],
      scopeSeparator: ' ',
      pkce: true,
      clientAuthMethod: 'client_secret_basic',
      authorizationParams: {},
      tokenParams: {},
      refreshable: true,
    });
    expect(registry.listConfigured().map((p) => p.name)).toEqual(['acme']);
  });

  it('when a user defines an OAuth 1.0a provider, then it defaults to HMAC-SHA1 in the header', () => {
    expect(build({ legacy }).resolve('legacy')).toMatchObject({ signatureMethod: 'HMAC-SHA1', parameterPlacement: 'header', authorizationParams: {} });
  });

  it('when a catalogue provider gets credentials only, then it is configured with the catalogue facts', () => {
    const registry = build({ github: { clientId: 'id', clientSecretName: 'github-secret' } });
    expect(registry.resolve('github')).toMatchObject({
      authorizationUrl: 'https://github.com/login/oauth/authorize',
      clientId: 'id',
      clientSecretName: 'github-secret',
      displayName: 'GitHub',
    });
    expect(registry.listConfigured().map((p) => p.name)).toEqual(['github']);
  });

  it('merges inline over file over catalogue, field by field, and null removes a value', () => {
    const registry = build(
      { google: { clientId: 'file-id', clientSecret: 'file-secret', tokenUrl: 'http://127.0.0.1:9/token' } },
      { google: { clientId: 'inline-id', revocationUrl: null, displayName: 'G' } },
    );
    const google = registry.resolve('google');
    expect(google).toMatchObject({ clientId: 'inline-id', clientSecret: 'file-secret', tokenUrl: 'http://127.0.0.1:9/token', displayName: 'G' });
    expect(google).not.toHaveProperty('revocationUrl');
    expect(google).toMatchObject({ authorizationParams: { access_type: 'offline', prompt: 'consent' } });
  });

  it('when a higher layer sets clientSecretName, then the lower layer clientSecret no longer applies', () => {
    const registry = build({ acme }, { acme: { clientSecretName: 'ACME_SECRET' } });
    expect(registry.resolve('acme')).toMatchObject({ clientSecretName: 'ACME_SECRET' });
    expect(registry.resolve('acme')).not.toHaveProperty('clientSecret');
  });

  it('when a user changes the protocol of a catalogue name, then the catalogue entry is not inherited', () => {
    const registry = build({ twitter: { ...acme } });
    expect(registry.resolve('twitter')).toMatchObject({ protocol: 'oauth2', tokenUrl: acme.tokenUrl });
    expect(registry.resolve('twitter')).not.toHaveProperty('requestTokenUrl');
  });

  it('fills URL templates from templateValues', () => {
    const registry = build({ shopify: { clientId: 'id', clientSecret: 's', templateValues: { subdomain: 'my-shop' } } });
    expect(registry.resolve('shopify')).toMatchObject({
      authorizationUrl: 'https://my-shop.myshopify.com/admin/oauth/authorize',
      apiBaseUrl: 'https://my-shop.myshopify.com/admin/api',
    });
    expect(registry.resolve('shopify')).not.toHaveProperty('templateVariables');
    expect(registry.isConfigured('shopify')).toBe(true);
  });

  it('accepts RSA-SHA1 with a private key and no client secret', () => {
    const { clientSecret: _unused, ...withoutSecret } = legacy;
    const registry = build({ legacy: { ...withoutSecret, signatureMethod: 'RSA-SHA1', privateKeyName: 'legacy-pem' } });
    expect(registry.isConfigured('legacy')).toBe(true);
  });

  it('accepts a public client (clientAuthMethod "none") with no client secret', () => {
    const { clientSecret: _unused, ...withoutSecret } = acme;
    const registry = build({ acme: { ...withoutSecret, clientAuthMethod: 'none' } });
    expect(registry.isConfigured('acme')).toBe(true);
    expect(registry.resolve('acme')).toMatchObject({ clientAuthMethod: 'none', pkce: true });
  });

  it('trims a trailing slash from apiBaseUrl', () => {
    expect(build({ acme: { ...acme, apiBaseUrl: 'https://api.acme.example/v1/' } }).resolve('acme')?.apiBaseUrl).toBe('https://api.acme.example/v1');
  });

  it('answers undefined for an unknown name', () => {
    expect(build().resolve('nope')).toBeUndefined();
    expect(build().isConfigured('nope')).toBe(false);
  });

  it.each<[string, unknown, string]>([
    ['unknown field', { acme: { ...acme, tokenURL: 'x' } }, 'provider "acme": field "tokenURL" is not a known field'],
    ['wrong type', { acme: { ...acme, pkce: 'yes' } }, 'provider "acme": field "pkce" must be true or false'],
    ['wrong list', { acme: { ...acme, defaultScopes: 'read' } }, 'provider "acme": field "defaultScopes" must be an array of non-empty strings'],
    ['wrong enum', { acme: { ...acme, clientAuthMethod: 'private_key_jwt' } }, 'provider "acme": field "clientAuthMethod" must be one of client_secret_basic, client_secret_post, none'],
    ['relative URL', { acme: { ...acme, tokenUrl: '/token' } }, 'provider "acme": field "tokenUrl" must be an absolute URL'],
    ['remote http', { acme: { ...acme, tokenUrl: 'http://id.acme.example/token' } }, 'provider "acme": field "tokenUrl" must use https (http is accepted only for loopback hosts)'],
    ['other scheme', { acme: { ...acme, authorizationUrl: 'ftp://x/a' } }, 'provider "acme": field "authorizationUrl" must use https'],
    ['missing token URL', { acme: { ...acme, tokenUrl: undefined } }, 'provider "acme": field "tokenUrl" is required for oauth2 providers'],
    ['missing protocol', { acme: { ...acme, protocol: undefined } }, 'provider "acme": field "protocol" is required for a provider the catalogue does not know'],
    ['missing client id', { acme: { ...acme, clientId: undefined } }, 'provider "acme": field "clientId" is required for oauth2 providers'],
    ['missing secret', { acme: { ...acme, clientSecret: undefined } }, 'provider "acme": field "clientSecret" or "clientSecretName" is required'],
    ['public client with a secret', { acme: { ...acme, clientAuthMethod: 'none' } }, 'provider "acme": field "clientSecret" must not be set for a public client'],
    ['public client without PKCE', { acme: { ...acme, clientSecret: undefined, clientAuthMethod: 'none', pkce: false } }, 'provider "acme": field "pkce" cannot be false for a public client'],
    ['field of the other protocol', { legacy: { ...legacy, tokenUrl: 'https://legacy.example/token' } }, 'provider "legacy": field "tokenUrl" does not apply to oauth1 providers'],
    ['RSA without key', { legacy: { ...legacy, signatureMethod: 'RSA-SHA1' } }, 'provider "legacy": field "privateKey" or "privateKeyName" is required for RSA-SHA1'],
    ['both secret forms', { acme: { ...acme, clientSecretName: 'n' } }, 'provider "acme": field "clientSecretName" cannot be set together with "clientSecret"'],
    ['bad name', { 'Acme Corp': acme }, 'provider "Acme Corp" has an invalid name'],
    ['not an object', { acme: [] }, 'provider "acme" must be a JSON object'],
    ['catalogue provider without credentials', { github: { displayName: 'GH' } }, 'provider "github": field "clientId" is required'],
    ['unfilled template', { shopify: { clientId: 'id', clientSecret: 's' } }, 'provider "shopify": field "templateValues" must give "subdomain" (used in "authorizationUrl")'],
    ['template value with URL syntax', { shopify: { clientId: 'id', clientSecret: 's', templateValues: { subdomain: 'evil.com?' } } }, 'provider "shopify": field "templateValues.subdomain" may contain only'],
    ['non-positive fallback', { acme: { ...acme, expiresInFallbackSeconds: 0 } }, 'provider "acme": field "expiresInFallbackSeconds" must be a positive integer'],
    ['credentials in URL', { acme: { ...acme, tokenUrl: 'https://u:p@id.acme.example/token' } }, 'provider "acme": field "tokenUrl" must not contain credentials'],
    ['an issuer with a query', { acme: { ...acme, issuer: 'https://id.acme.example/?tenant=a' } }, 'provider "acme": field "issuer" must not contain a query string'],
    ['a remote http issuer', { acme: { ...acme, issuer: 'http://id.acme.example' } }, 'provider "acme": field "issuer" must use https (http is accepted only for loopback hosts)'],
    ['a remote http JWKS URL', { acme: { ...acme, jwksUrl: 'http://id.acme.example/jwks' } }, 'provider "acme": field "jwksUrl" must use https'],
    ['an issuer on an OAuth 1.0a provider', { legacy: { ...legacy, issuer: 'https://legacy.example' } }, 'provider "legacy": field "issuer" does not apply to oauth1 providers'],
    ['a date that is not a day', { acme: { ...acme, deprecatedAfter: '2026-02-30' } }, 'provider "acme": field "deprecatedAfter" must be a date (YYYY-MM-DD)'],
    ['an unknown successor', { acme: { ...acme, successor: 'nobody' } }, 'provider "acme": field "successor" names "nobody", which is neither in the catalogue nor defined'],
    ['itself as successor', { acme: { ...acme, successor: 'acme' } }, 'provider "acme": field "successor" must name another provider'],
    ['an unknown probe method', { acme: { ...acme, verifyMethod: 'DELETE' } }, 'provider "acme": field "verifyMethod" must be one of GET, HEAD, POST'],
    ['a proxy header that is not a header name', { acme: { ...acme, proxyHeaders: ['acme-version', 'bad header'] } }, 'provider "acme": field "proxyHeaders" must be an array of HTTP header names'],
    ['an unknown response mode', { acme: { ...acme, responseMode: 'fragment' } }, 'provider "acme": field "responseMode" must be one of'],
    ['a user endpoint without a subject field', { acme: { ...acme, accountInfo: { url: 'https://api.acme.example/user' } } }, 'provider "acme": field "accountInfo" must be an object {url, subjectField, nameField?, emailField?}'],
    ['a user endpoint with an unknown key', { acme: { ...acme, accountInfo: { url: 'https://api.acme.example/user', subjectField: 'id', idField: 'x' } } }, 'provider "acme": field "accountInfo" must be an object'],
    ['a user endpoint field that is not a field path', { acme: { ...acme, accountInfo: { url: 'https://api.acme.example/user', subjectField: 'data[0].id' } } }, 'provider "acme": field "accountInfo" must be an object'],
    ['a remote http user endpoint', { acme: { ...acme, accountInfo: { url: 'http://api.acme.example/user', subjectField: 'id' } } }, 'provider "acme": field "accountInfo.url" must use https'],
    ['a user endpoint on an OAuth 1.0a provider', { legacy: { ...legacy, accountInfo: { url: 'https://legacy.example/me', subjectField: 'id' } } }, 'provider "legacy": field "accountInfo" does not apply to oauth1 providers'],
    ['an unknown grant', { acme: { ...acme, grants: ['password'] } }, 'provider "acme": field "grants" must be a non-empty list of distinct values from authorization_code, client_credentials'],
    ['no grant at all', { acme: { ...acme, grants: [] } }, 'provider "acme": field "grants" must be a non-empty list'],
    ['a grant twice', { acme: { ...acme, grants: ['client_credentials', 'client_credentials'] } }, 'provider "acme": field "grants" must be a non-empty list of distinct values'],
    ['grants on an OAuth 1.0a provider', { legacy: { ...legacy, grants: ['authorization_code'] } }, 'provider "legacy": field "grants" does not apply to oauth1 providers'],
  ])('when a definition has %s, then PROVIDER_INVALID names provider and field', (_case, json, message) => {
    const error = errorOf(() => build(JSON.parse(JSON.stringify(json))));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('acme-secret');
  });

  it('when the source is not an object, then PROVIDER_INVALID names the source', () => {
    expect(errorOf(() => build([acme])).message).toBe('BROKER_PROVIDERS_FILE must be a JSON object of provider name → definition');
  });
});

test('when a user definition lists proxyHeaders, then the resolved provider has them in lower case', () => {
  const registry = build({ acme: { ...acme, proxyHeaders: ['Acme-Version', 'acme-tenant'] } });
  expect(registry.resolve('acme')?.proxyHeaders).toEqual(['acme-version', 'acme-tenant']);
});

test('when a user definition sets scopeSeparator to a single space (the RFC 6749 separator), then it is accepted', () => {
  const { buildProviderRegistry } = require('../../../src/providers/registry');
  const registry = buildProviderRegistry(new Map(), [
    {
      source: 'BROKER_PROVIDERS',
      json: {
        acme: {
          protocol: 'oauth2',
          authorizationUrl: 'https://id.acme.example/authorize',
          tokenUrl: 'https://id.acme.example/token',
          scopeSeparator: ' ',
          clientId: 'id',
          clientSecret: 'secret',
        },
      },
    },
  ]);
  expect(registry.resolve('acme').scopeSeparator).toBe(' ');
});

test('Garmin OAuth 1.0a is marked to end on 2026-12-31, with its OAuth 2.0 entry as successor', () => {
  const registry = build({});
  expect(registry.resolve('garmin')).toMatchObject({ protocol: 'oauth1', deprecatedAfter: '2026-12-31', successor: 'garmin-oauth2' });
  expect(registry.resolve('garmin-oauth2')).toMatchObject({ protocol: 'oauth2', pkce: true });
});

test('a definition can name a health probe and a successor defined alongside it', () => {
  const registry = build({
    acme: { ...acme, verifyUrl: 'http://127.0.0.1:4010/api/me', successor: 'acme2' },
    acme2: { ...acme },
  });
  expect(registry.resolve('acme')).toMatchObject({ verifyUrl: 'http://127.0.0.1:4010/api/me', successor: 'acme2' });
});

test('a definition opts in to client credentials with its grants; without them it offers the authorization code grant only', () => {
  const registry = build({ acme: { ...acme, grants: ['authorization_code', 'client_credentials'] }, plain: { ...acme } });
  expect(registry.resolve('acme')).toMatchObject({ grants: ['authorization_code', 'client_credentials'] });
  expect(registry.resolve('plain')).not.toHaveProperty('grants');
});
