import type { HttpSend } from '../../../src/oauth/http';
import { pollDeviceToken } from '../../../src/oauth/oauth2/device';

const answering = (status: number, body: unknown): HttpSend => async () => ({
  status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)),
});
const poll = (send: HttpSend) => pollDeviceToken({
  clientId: 'c', clientSecret: 's', clientAuthMethod: 'client_secret_post', tokenUrl: 'https://idp.example/token', deviceCode: 'dc', requestedScopes: ['read'],
}, { send });

describe('pollDeviceToken (RFC 8628 §3.5), no network', () => {
  test.each([
    ['authorization_pending', 'pending'],
    ['slow_down', 'slow_down'],
    ['access_denied', 'denied'],
    ['expired_token', 'expired'],
  ])('when the token endpoint answers %s, then the poll says %s', async (error, kind) => {
    expect(await poll(answering(400, { error }))).toEqual({ kind });
  });

  test('when it answers another error, then it fails with the stable code', async () => {
    await expect(poll(answering(400, { error: 'invalid_client' }))).rejects.toMatchObject({ code: 'OAUTH_INVALID_CLIENT' });
  });

  test('when it answers tokens, then they are parsed like any token answer', async () => {
    expect(await poll(answering(200, { access_token: 'at', token_type: 'bearer', expires_in: '60' })))
      .toEqual({ kind: 'tokens', tokens: expect.objectContaining({ accessToken: 'at', tokenType: 'Bearer', expiresIn: 60, scopes: ['read'] }) });
  });
});
