/**
 * PAR (RFC 9126) and DPoP (RFC 9449) against oidc-provider started with PAR required and DPoP
 * nonces required, for a client whose access tokens must be DPoP-bound.
 */
import { BrokerError } from '../../src/domain/errors';
import { parseAuthorizationResponse } from '../../src/oauth/oauth2/authorization-response';
import { exchangeCode, refreshAccessToken } from '../../src/oauth/oauth2/client';
import { discoverServer, forgetDiscovered } from '../../src/oauth/oauth2/discovery';
import { createDpopKey, DpopNonceBook, dpopHandle, dpopTokenOptions, proofMaker, rememberingNonces } from '../../src/oauth/oauth2/dpop';
import { probeOAuth2Credentials } from '../../src/oauth/verify-credentials';
import { startDpopResourceServer } from '../support/oidc/dpop-resource-server';
import { pushAuthorizationRequest } from '../../src/oauth/oauth2/par';
import { createPkcePair } from '../../src/oauth/oauth2/pkce';
import type { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { completeConsent } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider } from '../support/oidc/start-oidc-provider';

const REDIRECT_URI = 'http://127.0.0.1:9/api/callback/acme';
const CLIENT: ClientAuthentication = { clientId: 'dpop-client', clientSecret: 'dpop-secret', clientAuthMethod: 'client_secret_basic' };
const SCOPES = ['openid', 'read'];

let provider: OidcProviderHandle;

beforeAll(async () => {
  provider = await startOidcProvider({
    requirePar: true,
    requireDpopNonce: true,
    clients: [{
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      dpop_bound_access_tokens: true,
    }],
  });
});

afterAll(async () => {
  await provider?.stop();
});

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

async function pushedCode(dpop?: Awaited<ReturnType<typeof dpopHandle>>) {
  const pkce = createPkcePair();
  const pushed = await pushAuthorizationRequest({
    ...CLIENT,
    parUrl: provider.url('/request'),
    authorizationUrl: provider.url('/auth'),
    redirectUri: REDIRECT_URI,
    scopes: SCOPES,
    state: 'pushed-state',
    codeChallenge: pkce.codeChallenge,
    nonce: 'pushed-nonce',
  }, { dpop });
  return { pushed, pkce };
}

test('discovery reports that the provider requires PAR and accepts ES256 DPoP proofs', async () => {
  const target = { name: 'par-dpop', issuer: provider.issuer };
  const server = await discoverServer(target);
  expect(server).toEqual(expect.objectContaining({ requiresPar: true, parUrl: provider.url('/request'), dpopSigningAlgs: expect.arrayContaining(['ES256']) }));
  forgetDiscovered(target);
});

test('when the request is pushed, then the browser URL carries only client_id and request_uri, and consent yields a code', async () => {
  const { pushed } = await pushedCode();
  const url = new URL(pushed.authorizationUrl);
  expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
  expect(url.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
  expect(pushed.expiresIn).toBeGreaterThan(0);
  const callback = parseAuthorizationResponse(new URL(await completeConsent(pushed.authorizationUrl, { account: 'dave', approve: true, redirectUri: REDIRECT_URI })).searchParams);
  expect(callback).toEqual(expect.objectContaining({ kind: 'code', state: 'pushed-state' }));
});

test('with a DPoP key, then the code (through the server nonce) exchanges for a DPoP-bound token that refreshes with the same key', async () => {
  const key = await createDpopKey();
  const dpop = await dpopHandle(key);
  const { pushed, pkce } = await pushedCode(dpop);
  const callback = parseAuthorizationResponse(new URL(await completeConsent(pushed.authorizationUrl, { account: 'dave', approve: true, redirectUri: REDIRECT_URI })).searchParams);
  if (callback.kind !== 'code') throw new Error(callback.error);

  await provider.clearLog();
  const tokens = await exchangeCode({
    ...CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: SCOPES,
  }, { dpop });
  expect(tokens.tokenType).toBe('DPoP');
  // The PAR answer already taught the handle the nonce, so the exchange needed no second try.
  expect((await provider.tokenLog()).map((entry) => entry.outcome)).toEqual(['ok']);

  // A fresh handle (as after a restart) must learn the nonce again from the server.
  const refreshed = await refreshAccessToken({
    ...CLIENT, tokenUrl: provider.url('/token'), refreshToken: tokens.refreshToken!, requestedScopes: tokens.scopes,
  }, { dpop: await dpopHandle(key) });
  expect(refreshed.tokenType).toBe('DPoP');
  expect((await provider.tokenLog()).map((entry) => entry.outcome)).toEqual(['ok', 'use_dpop_nonce', 'ok']);
  expect(refreshed.accessToken).not.toBe(tokens.accessToken);
});

test('when the code was pushed with one DPoP key, then another key cannot redeem it', async () => {
  const { pushed, pkce } = await pushedCode(await dpopHandle(await createDpopKey()));
  const callback = parseAuthorizationResponse(new URL(await completeConsent(pushed.authorizationUrl, { account: 'dave', approve: true, redirectUri: REDIRECT_URI })).searchParams);
  if (callback.kind !== 'code') throw new Error(callback.error);
  const error = await rejection(exchangeCode({
    ...CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: SCOPES,
  }, { dpop: await dpopHandle(await createDpopKey()) }));
  expect(error.code).toBe('OAUTH_INVALID_GRANT');
});

test('with the provider\'s nonces remembered, a fresh handle\'s first proof carries the nonce; a probe of the bound token passes the API\'s own nonce challenge and fails without a proof', async () => {
  const key = await createDpopKey();
  const { pushed, pkce } = await pushedCode(await dpopHandle(key));
  const callback = parseAuthorizationResponse(new URL(await completeConsent(pushed.authorizationUrl, { account: 'erin', approve: true, redirectUri: REDIRECT_URI })).searchParams);
  if (callback.kind !== 'code') throw new Error(callback.error);
  const tokens = await exchangeCode({
    ...CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code: callback.code, codeVerifier: pkce.codeVerifier, requestedScopes: SCOPES,
  }, { dpop: await dpopHandle(key) });

  const nonces = new DpopNonceBook().for('acme');
  await provider.clearLog();
  const first = await refreshAccessToken({ ...CLIENT, tokenUrl: provider.url('/token'), refreshToken: tokens.refreshToken!, requestedScopes: tokens.scopes }, await dpopTokenOptions(key, nonces, {}));
  const second = await refreshAccessToken({ ...CLIENT, tokenUrl: provider.url('/token'), refreshToken: first.refreshToken!, requestedScopes: tokens.scopes }, await dpopTokenOptions(key, nonces, {}));
  expect((await provider.tokenLog()).map((entry) => entry.outcome)).toEqual(['use_dpop_nonce', 'ok', 'ok']);

  const api = await startDpopResourceServer({ introspectionUrl: () => provider.url('/token/introspection'), clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret });
  try {
    const credentials = { protocol: 'oauth2' as const, accessToken: second.accessToken, tokenType: second.tokenType, dpopKey: key };
    const target = { verifyUrl: api.url('/api/me') };
    await expect(probeOAuth2Credentials(target, credentials, rememberingNonces({}, nonces), proofMaker(key, nonces, () => new Date()))).resolves.toEqual({ kind: 'ok' });
    expect(api.log.map((entry) => entry.outcome)).toEqual(['nonce needed', 'ok']);
    await expect(probeOAuth2Credentials(target, credentials)).resolves.toEqual({ kind: 'revoked', status: 401 });
    // A proof of another key is refused even with the API's nonce.
    const other = await createDpopKey();
    await expect(probeOAuth2Credentials(target, credentials, rememberingNonces({}, nonces), proofMaker(other, nonces, () => new Date()))).resolves.toEqual({ kind: 'revoked', status: 401 });
    expect(api.log.at(-1)?.outcome).toBe('token bound to another key');
  } finally {
    await api.stop();
  }
});
