/**
 * Lifetimes the token answer does not state, against oidc-provider started without `expires_in` in
 * its token answers: JWT access tokens (RFC 9068) carry `exp`; opaque ones are introspected (RFC 7662).
 */
import { parseAuthorizationResponse } from '../../src/oauth/oauth2/authorization-response';
import { buildAuthorizationUrl } from '../../src/oauth/oauth2/authorize-url';
import { exchangeCode } from '../../src/oauth/oauth2/client';
import { tokenLifetime } from '../../src/oauth/oauth2/lifetime';
import { createPkcePair } from '../../src/oauth/oauth2/pkce';
import type { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { completeConsent } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider } from '../support/oidc/start-oidc-provider';

const REDIRECT_URI = 'http://127.0.0.1:9/api/callback/acme';
const CLIENT: ClientAuthentication = { clientId: 'life-client', clientSecret: 'life-secret', clientAuthMethod: 'client_secret_post' };
const TTL_S = 900;

const clients = [{
  client_id: CLIENT.clientId,
  client_secret: CLIENT.clientSecret,
  token_endpoint_auth_method: 'client_secret_post' as const,
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
}];

let opaque: OidcProviderHandle;
let jwtIssuing: OidcProviderHandle;

beforeAll(async () => {
  [opaque, jwtIssuing] = await Promise.all([
    startOidcProvider({ clients, omitExpiresIn: true, accessTokenTtlSeconds: TTL_S }),
    startOidcProvider({ clients, omitExpiresIn: true, accessTokenTtlSeconds: TTL_S, jwtAccessTokenResource: 'urn:test:api' }),
  ]);
});

afterAll(async () => {
  await Promise.all([opaque?.stop(), jwtIssuing?.stop()]);
});

async function tokensFrom(provider: OidcProviderHandle) {
  const pkce = createPkcePair();
  const url = buildAuthorizationUrl({
    authorizationUrl: provider.url('/auth'), clientId: CLIENT.clientId, redirectUri: REDIRECT_URI, scopes: ['read'], state: 'st', codeChallenge: pkce.codeChallenge,
  });
  const callback = parseAuthorizationResponse(new URL(await completeConsent(url, { account: 'carol', approve: true })).searchParams);
  if (callback.kind !== 'code') throw new Error(callback.error);
  return exchangeCode({ ...CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: ['read'] });
}

const secondsFromNow = (iso: string | null, now: Date) => (iso === null ? NaN : (Date.parse(iso) - now.getTime()) / 1000);

test('when the answer has no expires_in and the access token is a JWT, then its exp sets expiresAt', async () => {
  const tokens = await tokensFrom(jwtIssuing);
  expect(tokens.expiresIn).toBeUndefined();
  const now = new Date();
  const lifetime = await tokenLifetime({ accessToken: tokens.accessToken, hasRefreshToken: true, now, configuredSeconds: 60 });
  expect(lifetime.source).toBe('jwt_exp');
  expect(secondsFromNow(lifetime.expiresAt, now)).toBeGreaterThan(TTL_S - 30);
  expect(secondsFromNow(lifetime.expiresAt, now)).toBeLessThanOrEqual(TTL_S);
});

test('when the token is opaque and the provider offers introspection, then the introspected exp sets expiresAt', async () => {
  const tokens = await tokensFrom(opaque);
  expect(tokens.expiresIn).toBeUndefined();
  const now = new Date();
  const lifetime = await tokenLifetime({
    accessToken: tokens.accessToken, hasRefreshToken: true, now, configuredSeconds: 60,
    introspection: { ...CLIENT, introspectionUrl: opaque.url('/token/introspection') },
  });
  expect(lifetime.source).toBe('introspection');
  expect(secondsFromNow(lifetime.expiresAt, now)).toBeGreaterThan(TTL_S - 30);
  expect(secondsFromNow(lifetime.expiresAt, now)).toBeLessThanOrEqual(TTL_S);
});

test('when introspection says the token is not active, then the configured lifetime applies', async () => {
  const now = new Date();
  const lifetime = await tokenLifetime({
    accessToken: 'never-issued', hasRefreshToken: true, now, configuredSeconds: 60,
    introspection: { ...CLIENT, introspectionUrl: opaque.url('/token/introspection') },
  });
  expect(lifetime).toEqual({ expiresAt: new Date(now.getTime() + 60_000).toISOString(), source: 'configured' });
});
