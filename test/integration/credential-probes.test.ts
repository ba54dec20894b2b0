/**
 * Health probes for credentials that do not expire, against the oauthlib provider (a token revoked
 * there) and oidc-provider (a grant revoked there).
 */
import { BrokerError } from '../../src/domain/errors';
import type { HttpSend } from '../../src/oauth/http';
import { obtainTokenCredentials } from '../../src/oauth/oauth1/access-token';
import { buildAuthorizationUrl as buildOAuth1AuthorizationUrl } from '../../src/oauth/oauth1/authorize-url';
import { parseOAuth1Callback } from '../../src/oauth/oauth1/callback';
import { obtainTemporaryCredentials } from '../../src/oauth/oauth1/request-token';
import type { OAuth1ClientConfig } from '../../src/oauth/oauth1/signed-request';
import { parseAuthorizationResponse } from '../../src/oauth/oauth2/authorization-response';
import { buildAuthorizationUrl } from '../../src/oauth/oauth2/authorize-url';
import { exchangeCode, revokeToken } from '../../src/oauth/oauth2/client';
import { createPkcePair } from '../../src/oauth/oauth2/pkce';
import type { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { probeOAuth1Credentials, probeOAuth2Credentials } from '../../src/oauth/verify-credentials';
import { approveAuthorization, OAuth1ProviderHandle, startOAuth1Provider } from '../support/oauth1/start-oauth1-provider';
import { completeConsent } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider } from '../support/oidc/start-oidc-provider';

const CALLBACK_URL = 'http://127.0.0.1:9/api/callback/probe';
const OAUTH1: OAuth1ClientConfig = { consumerKey: 'probeconsumer000000000001', consumerSecret: 'probe secret', signatureMethod: 'HMAC-SHA1' };
const OAUTH2: ClientAuthentication = { clientId: 'probe-client', clientSecret: 'probe-secret', clientAuthMethod: 'client_secret_basic' };

let oauth1: OAuth1ProviderHandle;
let oidc: OidcProviderHandle;

beforeAll(async () => {
  [oauth1, oidc] = await Promise.all([
    startOAuth1Provider({ clients: [{ consumerKey: OAUTH1.consumerKey, consumerSecret: OAUTH1.consumerSecret! }], signatureMethods: ['HMAC-SHA1'] }),
    startOidcProvider({
      clients: [{
        client_id: OAUTH2.clientId, client_secret: OAUTH2.clientSecret, token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [CALLBACK_URL], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      }],
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([oauth1?.stop(), oidc?.stop()]);
});

test('OAuth 1.0a: working token credentials probe ok; once the provider revokes them, the probe says revoked', async () => {
  const temporary = await obtainTemporaryCredentials({ client: OAUTH1, requestTokenUrl: oauth1.requestTokenUrl, callbackUrl: CALLBACK_URL });
  const callback = parseOAuth1Callback(new URL(await approveAuthorization(buildOAuth1AuthorizationUrl(oauth1.authorizationUrl, temporary.token), { approve: true })).searchParams);
  if (callback.outcome !== 'authorized') throw new Error('expected an authorized callback');
  const issued = await obtainTokenCredentials({ client: OAUTH1, accessTokenUrl: oauth1.accessTokenUrl, temporaryCredentials: temporary, verifier: callback.oauthVerifier });
  const credentials = { protocol: 'oauth1' as const, oauthToken: issued.token, oauthTokenSecret: issued.tokenSecret };
  const target = { verifyUrl: oauth1.url('/api/account') };

  expect(await probeOAuth1Credentials(target, OAUTH1, credentials)).toEqual({ kind: 'ok' });
  expect(await oauth1.revokeToken(issued.token)).toBe(true);
  expect(await probeOAuth1Credentials(target, OAUTH1, credentials)).toEqual({ kind: 'revoked', status: 401 });
});

test('OAuth 2.0: a working token probes ok; once its grant is revoked at the provider, the probe says revoked', async () => {
  const pkce = createPkcePair();
  const url = buildAuthorizationUrl({
    authorizationUrl: oidc.url('/auth'), clientId: OAUTH2.clientId, redirectUri: CALLBACK_URL, scopes: ['read'], state: 'st', codeChallenge: pkce.codeChallenge,
  });
  const callback = parseAuthorizationResponse(new URL(await completeConsent(url, { account: 'frank', approve: true })).searchParams);
  if (callback.kind !== 'code') throw new Error(callback.error);
  const tokens = await exchangeCode({ ...OAUTH2, tokenUrl: oidc.url('/token'), redirectUri: CALLBACK_URL, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: ['read'] });
  const credentials = { protocol: 'oauth2' as const, accessToken: tokens.accessToken, tokenType: tokens.tokenType };
  const target = { verifyUrl: oidc.url('/api/me') };

  expect(await probeOAuth2Credentials(target, credentials)).toEqual({ kind: 'ok' });
  // Revoking the refresh token revokes the grant, as a user removing the app at the provider would.
  await revokeToken({ ...OAUTH2, revocationUrl: oidc.url('/token/revocation'), token: tokens.refreshToken!, tokenTypeHint: 'refresh_token' });
  expect(await probeOAuth2Credentials(target, credentials)).toEqual({ kind: 'revoked', status: 401 });
});

test.each([
  ['a 503', async () => ({ status: 503, headers: {}, body: Buffer.alloc(0) }), { kind: 'unknown', status: 503 }],
  ['a transport failure', async () => {
    throw new BrokerError('PROVIDER_TIMEOUT', 'slow', { transient: true });
  }, { kind: 'unknown', errorCode: 'PROVIDER_TIMEOUT' }],
] as Array<[string, HttpSend, unknown]>)('when the probe meets %s, then it says unknown, not revoked', async (_case, send, verdict) => {
  expect(await probeOAuth2Credentials({ verifyUrl: 'https://api.example/me' }, { protocol: 'oauth2', accessToken: 'at', tokenType: 'Bearer' }, { send })).toEqual(verdict);
});
