import { createHash } from 'node:crypto';
import { BrokerError } from '../../src/domain/errors';
import { sendHttpRequest } from '../../src/oauth/http';
import { parseAuthorizationResponse } from '../../src/oauth/oauth2/authorization-response';
import { buildAuthorizationUrl } from '../../src/oauth/oauth2/authorize-url';
import { exchangeCode, refreshAccessToken, revokeToken } from '../../src/oauth/oauth2/client';
import { createPkcePair } from '../../src/oauth/oauth2/pkce';
import { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { completeConsent } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider, tokenFingerprint } from '../support/oidc/start-oidc-provider';

// The client's redirect_uri is never contacted: the consent driver stops at the redirect to it.
const REDIRECT_URI = 'http://127.0.0.1:9/api/callback/acme';
// Characters RFC 6749 §2.3.1 requires to be form-encoded before Base64 (space, ':', '+', '%', '&', '/').
const BASIC_CLIENT: ClientAuthentication = { clientId: 'basic-client', clientSecret: 'b s:e+c%r&e/t', clientAuthMethod: 'client_secret_basic' };
const POST_CLIENT: ClientAuthentication = { clientId: 'post-client', clientSecret: 'p s:e+c%r&e/t', clientAuthMethod: 'client_secret_post' };
// A public client (RFC 6749 §2.1): the server refuses any client authentication it was not registered with.
const PUBLIC_CLIENT: ClientAuthentication = { clientId: 'public-client', clientSecret: '', clientAuthMethod: 'none' };
const SCOPES = ['openid', 'read'];

let provider: OidcProviderHandle;

beforeAll(async () => {
  provider = await startOidcProvider({
    clients: [BASIC_CLIENT, POST_CLIENT, PUBLIC_CLIENT].map((client) => ({
      client_id: client.clientId,
      ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
      token_endpoint_auth_method: client.clientAuthMethod,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
  });
});

afterAll(async () => {
  await provider?.stop();
});

async function authorize(client: ClientAuthentication, approve = true) {
  const pkce = createPkcePair();
  const state = createHash('sha256').update(String(Math.random())).digest('base64url');
  const url = buildAuthorizationUrl({
    authorizationUrl: provider.url('/auth'),
    clientId: client.clientId,
    redirectUri: REDIRECT_URI,
    scopes: SCOPES,
    state,
    codeChallenge: pkce.codeChallenge,
  });
  const location = await completeConsent(url, { account: 'alice', approve });
  return { pkce, state, callback: parseAuthorizationResponse(new URL(location).searchParams) };
}

async function codeFor(client: ClientAuthentication) {
  const { pkce, state, callback } = await authorize(client);
  if (callback.kind !== 'code') throw new Error(`expected a code, got ${callback.error}`);
  expect(callback.state).toBe(state);
  return { code: callback.code, codeVerifier: pkce.codeVerifier };
}

async function exchange(client: ClientAuthentication) {
  const { code, codeVerifier } = await codeFor(client);
  return exchangeCode({ ...client, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier, requestedScopes: SCOPES });
}

async function callMe(accessToken: string) {
  const response = await sendHttpRequest({ url: provider.url('/api/me'), method: 'GET', headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: response.status === 200 ? JSON.parse(response.body.toString('utf8')) : undefined };
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

describe.each([BASIC_CLIENT, POST_CLIENT, PUBLIC_CLIENT])('authorization code + PKCE with $clientAuthMethod', (client) => {
  test('when the user approves, then the code exchanges for working tokens with granted scopes', async () => {
    const tokens = await exchange(client);

    expect(tokens.tokenType).toBe('Bearer');
    expect(tokens.expiresIn).toBeGreaterThan(0);
    expect(tokens.refreshToken).toEqual(expect.any(String));
    expect(tokens.idToken).toEqual(expect.any(String));
    expect(tokens.scopes.sort()).toEqual(['openid', 'read']);
    const me = await callMe(tokens.accessToken);
    expect(me).toEqual({ status: 200, body: expect.objectContaining({ sub: 'alice', clientId: client.clientId }) });
  });

  test('when refreshing and then revoking, then the same client authentication is accepted', async () => {
    const tokens = await exchange(client);
    const refreshed = await refreshAccessToken({ ...client, tokenUrl: provider.url('/token'), refreshToken: tokens.refreshToken as string, requestedScopes: tokens.scopes });
    expect((await callMe(refreshed.accessToken)).status).toBe(200);
    await revokeToken({ ...client, revocationUrl: provider.url('/token/revocation'), token: refreshed.accessToken, tokenTypeHint: 'access_token' });
    expect((await callMe(refreshed.accessToken)).status).toBe(401);
  });
});

test('when a public client sends a secret anyway, then the server refuses it: "none" sends none', async () => {
  const { code, codeVerifier } = await codeFor(PUBLIC_CLIENT);
  const posing = { ...PUBLIC_CLIENT, clientSecret: 'not-registered', clientAuthMethod: 'client_secret_post' as const };
  const error = await rejection(exchangeCode({ ...posing, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier, requestedScopes: SCOPES }));
  expect(error.code).toBe('OAUTH_INVALID_CLIENT');
});

test('when the client secret is wrong, then the exchange fails with OAUTH_INVALID_CLIENT', async () => {
  const { code, codeVerifier } = await codeFor(BASIC_CLIENT);
  const error = await rejection(
    exchangeCode({ ...BASIC_CLIENT, clientSecret: 'wrong', tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier, requestedScopes: SCOPES }),
  );
  expect(error.code).toBe('OAUTH_INVALID_CLIENT');
  expect(error.providerError).toBe('invalid_client');
});

test('when the code_verifier does not match the challenge, then the exchange fails with OAUTH_INVALID_GRANT', async () => {
  const { code } = await codeFor(POST_CLIENT);
  const wrongVerifier = createPkcePair().codeVerifier;
  const error = await rejection(
    exchangeCode({ ...POST_CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier: wrongVerifier, requestedScopes: SCOPES }),
  );
  expect(error.code).toBe('OAUTH_INVALID_GRANT');
  expect(error.providerStatus).toBe(400);
  expect(error.message).not.toContain(code);
  expect(error.message).not.toContain(wrongVerifier);
});

test('when an authorization code is used twice, then the second exchange fails with OAUTH_INVALID_GRANT', async () => {
  const { code, codeVerifier } = await codeFor(BASIC_CLIENT);
  const input = { ...BASIC_CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier, requestedScopes: SCOPES };
  await exchangeCode(input);
  expect((await rejection(exchangeCode(input))).code).toBe('OAUTH_INVALID_GRANT');
});

test('when the user refuses consent, then the callback carries access_denied and the state', async () => {
  const { state, callback } = await authorize(BASIC_CLIENT, false);
  expect(callback).toEqual(expect.objectContaining({ kind: 'error', error: 'access_denied', state }));
});

describe('refresh with rotation', () => {
  test('when refreshing, then a new refresh token replaces the old one and both new tokens work', async () => {
    const first = await exchange(BASIC_CLIENT);
    const refreshed = await refreshAccessToken({
      ...BASIC_CLIENT,
      tokenUrl: provider.url('/token'),
      refreshToken: first.refreshToken!,
      requestedScopes: first.scopes,
    });

    expect(refreshed.refreshTokenRotated).toBe(true);
    expect(refreshed.refreshToken).not.toBe(first.refreshToken);
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect((await callMe(refreshed.accessToken)).status).toBe(200);
    const again = await refreshAccessToken({ ...BASIC_CLIENT, tokenUrl: provider.url('/token'), refreshToken: refreshed.refreshToken!, requestedScopes: refreshed.scopes });
    expect(again.refreshToken).not.toBe(refreshed.refreshToken);
    expect((await callMe(again.accessToken)).status).toBe(200);
  });

  test('when a rotated (old) refresh token is reused, then it is rejected with OAUTH_INVALID_GRANT and the log shows the reuse', async () => {
    const first = await exchange(POST_CLIENT);
    const input = { ...POST_CLIENT, tokenUrl: provider.url('/token'), refreshToken: first.refreshToken!, requestedScopes: first.scopes };
    const rotated = await refreshAccessToken(input);

    const error = await rejection(refreshAccessToken(input));

    expect(error.code).toBe('OAUTH_INVALID_GRANT');
    expect(error.message).not.toContain(first.refreshToken!);
    const uses = (await provider.tokenLog()).filter((entry) => entry.refreshTokenFingerprint === tokenFingerprint(first.refreshToken!));
    expect(uses.map((entry) => entry.outcome)).toEqual(['ok', 'invalid_grant']);
    expect(uses[0].issuedRefreshTokenFingerprint).toBe(tokenFingerprint(rotated.refreshToken!));
  });
});

describe('revocation', () => {
  test('when the refresh token is revoked, then it no longer refreshes and its access token is refused', async () => {
    const tokens = await exchange(BASIC_CLIENT);
    expect((await callMe(tokens.accessToken)).status).toBe(200);

    await revokeToken({ ...BASIC_CLIENT, revocationUrl: provider.url('/token/revocation'), token: tokens.refreshToken!, tokenTypeHint: 'refresh_token' });

    expect((await callMe(tokens.accessToken)).status).toBe(401);
    const error = await rejection(
      refreshAccessToken({ ...BASIC_CLIENT, tokenUrl: provider.url('/token'), refreshToken: tokens.refreshToken!, requestedScopes: tokens.scopes }),
    );
    expect(error.code).toBe('OAUTH_INVALID_GRANT');
  });

  test('when the access token is revoked, then the resource endpoint refuses it', async () => {
    const tokens = await exchange(POST_CLIENT);

    await revokeToken({ ...POST_CLIENT, revocationUrl: provider.url('/token/revocation'), token: tokens.accessToken, tokenTypeHint: 'access_token' });

    expect((await callMe(tokens.accessToken)).status).toBe(401);
    const revocations = await provider.revocationLog();
    expect(revocations.at(-1)).toEqual(expect.objectContaining({ outcome: 'ok', tokenFingerprint: tokenFingerprint(tokens.accessToken), tokenTypeHint: 'access_token' }));
  });

  test('when an unknown token is revoked, then revocation still succeeds (RFC 7009 §2.2)', async () => {
    await expect(
      revokeToken({ ...BASIC_CLIENT, revocationUrl: provider.url('/token/revocation'), token: 'never-issued', tokenTypeHint: 'refresh_token' }),
    ).resolves.toBeUndefined();
  });
});

describe('provider faults', () => {
  test('when the token endpoint answers 500 then recovers, then the first refresh is transient and the next succeeds', async () => {
    const tokens = await exchange(BASIC_CLIENT);
    const input = { ...BASIC_CLIENT, tokenUrl: provider.url('/token'), refreshToken: tokens.refreshToken!, requestedScopes: tokens.scopes };
    await provider.setFault({ token: { status: 500, times: 1 } });

    const error = await rejection(refreshAccessToken(input));

    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, providerStatus: 500 }));
    expect((await refreshAccessToken(input)).refreshTokenRotated).toBe(true);
  });

  test('when the token endpoint answers 429 with Retry-After, then the error carries the seconds', async () => {
    await provider.setFault({ token: { status: 429, retryAfter: 7, body: '{"error":"slow_down"}' } });
    const error = await rejection(
      refreshAccessToken({ ...BASIC_CLIENT, tokenUrl: provider.url('/token'), refreshToken: 'any', requestedScopes: [] }),
    );
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, retryAfterSeconds: 7, providerError: 'slow_down' }));
  });

  test('when the token endpoint hangs, then the request fails with a transient PROVIDER_TIMEOUT', async () => {
    await provider.setFault({ token: { hang: true } });
    const error = await rejection(
      refreshAccessToken({ ...BASIC_CLIENT, tokenUrl: provider.url('/token'), refreshToken: 'any', requestedScopes: [] }, { timeoutMs: 300 }),
    );
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_TIMEOUT', transient: true }));
  });

  test('when the revocation endpoint answers 503, then revocation fails transiently', async () => {
    await provider.setFault({ revocation: { status: 503, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' } });
    const error = await rejection(
      revokeToken({ ...BASIC_CLIENT, revocationUrl: provider.url('/token/revocation'), token: 'any' }),
    );
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, providerStatus: 503, retryAfterSeconds: 0 }));
  });
});

describe('configured access token lifetime', () => {
  let shortLived: OidcProviderHandle;

  beforeAll(async () => {
    shortLived = await startOidcProvider({
      accessTokenTtlSeconds: 5,
      clients: [{
        client_id: POST_CLIENT.clientId,
        client_secret: POST_CLIENT.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }],
    });
  });

  afterAll(async () => {
    await shortLived?.stop();
  });

  test('when the provider is started with a 5 s access token TTL, then tokens say expires_in 5', async () => {
    const pkce = createPkcePair();
    const url = buildAuthorizationUrl({
      authorizationUrl: shortLived.url('/auth'), clientId: POST_CLIENT.clientId, redirectUri: REDIRECT_URI, scopes: ['read'], state: 'st', codeChallenge: pkce.codeChallenge,
    });
    const callback = parseAuthorizationResponse(new URL(await completeConsent(url, { account: 'bob', approve: true })).searchParams);
    if (callback.kind !== 'code') throw new Error(callback.error);
    const tokens = await exchangeCode({
      ...POST_CLIENT, tokenUrl: shortLived.url('/token'), redirectUri: REDIRECT_URI, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: ['read'],
    });
    expect(tokens.expiresIn).toBe(5);
    expect(tokens.scopes).toEqual(['read']);
    expect(callback.issuer).toBe(shortLived.issuer);
  });
});
