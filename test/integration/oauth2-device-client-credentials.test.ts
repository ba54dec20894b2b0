/**
 * Device authorization grant (RFC 8628) and client credentials (RFC 6749 §4.4) against
 * oidc-provider with its deviceFlow and clientCredentials features on.
 */
import { obtainClientCredentialsToken } from '../../src/oauth/oauth2/client-credentials';
import { pollDeviceToken, startDeviceAuthorization } from '../../src/oauth/oauth2/device';
import type { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { completeDeviceConsent, DEVICE_ABORTED, DEVICE_APPROVED } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider } from '../support/oidc/start-oidc-provider';

const MACHINE: ClientAuthentication = { clientId: 'machine-client', clientSecret: 'machine-secret', clientAuthMethod: 'client_secret_post' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let provider: OidcProviderHandle;

beforeAll(async () => {
  provider = await startOidcProvider({
    clients: [{
      client_id: MACHINE.clientId,
      client_secret: MACHINE.clientSecret,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials', DEVICE_GRANT, 'refresh_token'],
      scope: 'openid offline_access read write',
    }],
  });
});

afterAll(async () => {
  await provider?.stop();
});

async function callMe(accessToken: string) {
  const response = await fetch(provider.url('/api/me'), { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: response.status === 200 ? await response.json() : undefined };
}

describe('device authorization grant', () => {
  const start = () => startDeviceAuthorization({ ...MACHINE, deviceAuthorizationUrl: provider.url('/device/auth'), scopes: ['openid', 'read'] });
  const poll = (deviceCode: string) => pollDeviceToken({ ...MACHINE, tokenUrl: provider.url('/token'), deviceCode, requestedScopes: ['openid', 'read'] });

  test('when the user approves on another device, then polling turns from pending into working tokens', async () => {
    const device = await start();
    expect(device).toEqual(expect.objectContaining({
      userCode: expect.any(String), verificationUri: provider.url('/device'), verificationUriComplete: expect.stringContaining('user_code='), expiresIn: expect.any(Number),
    }));
    expect(await poll(device.deviceCode)).toEqual({ kind: 'pending' });

    expect(await completeDeviceConsent(device.verificationUriComplete!, { account: 'erin', approve: true })).toBe(DEVICE_APPROVED);
    const result = await poll(device.deviceCode);
    if (result.kind !== 'tokens') throw new Error(`expected tokens, got ${result.kind}`);
    expect(await callMe(result.tokens.accessToken)).toEqual({ status: 200, body: expect.objectContaining({ sub: 'erin', clientId: MACHINE.clientId }) });
  });

  test('when the user aborts, then the poll says denied', async () => {
    const device = await start();
    expect(await completeDeviceConsent(device.verificationUriComplete!, { account: 'erin', approve: false })).toBe(DEVICE_ABORTED);
    expect(await poll(device.deviceCode)).toEqual({ kind: 'denied' });
  });
});

describe('client credentials grant', () => {
  test('when a machine client asks with its credentials, then it gets a token with the granted scopes and no refresh token', async () => {
    const tokens = await obtainClientCredentialsToken({ ...MACHINE, tokenUrl: provider.url('/token'), scopes: ['read'] });
    expect(tokens).toEqual(expect.objectContaining({ tokenType: 'Bearer', expiresIn: expect.any(Number), scopes: ['read'] }));
    expect(tokens.refreshToken).toBeUndefined();
  });

  test('when the secret is wrong, then OAUTH_INVALID_CLIENT', async () => {
    await expect(obtainClientCredentialsToken({ ...MACHINE, clientSecret: 'wrong', tokenUrl: provider.url('/token'), scopes: ['read'] }))
      .rejects.toMatchObject({ code: 'OAUTH_INVALID_CLIENT' });
  });
});
