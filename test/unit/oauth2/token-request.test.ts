import type { HttpRequestSpec, HttpSend } from '../../../src/oauth/http';
import {
  basicAuthorizationHeader,
  ClientAuthentication,
  formUrlEncode,
  requestCodeExchange,
  requestRefresh,
  requestRevocation,
} from '../../../src/oauth/oauth2/token-request';

const BASIC: ClientAuthentication = { clientId: 'my client', clientSecret: 'p@ss:w+rd/%&é', clientAuthMethod: 'client_secret_basic' };
const POST: ClientAuthentication = { ...BASIC, clientAuthMethod: 'client_secret_post' };

const form = (body: string | Buffer | undefined) => Object.fromEntries(new URLSearchParams(String(body)));
const decodeBasic = (header: string) => Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');

/** The broker's outbound port, recording what oauth4webapi built instead of sending it (no network). */
function recordingPort(): { send: HttpSend; sent: HttpRequestSpec[] } {
  const sent: HttpRequestSpec[] = [];
  return {
    sent,
    send: async (request) => {
      sent.push(request);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };
    },
  };
}

async function onlyRequest(run: (send: HttpSend) => Promise<unknown>): Promise<HttpRequestSpec> {
  const port = recordingPort();
  await run(port.send);
  expect(port.sent).toHaveLength(1);
  return port.sent[0];
}

describe('client authentication (RFC 6749 §2.3.1)', () => {
  test('form-encodes id and secret before Base64', () => {
    expect(decodeBasic(basicAuthorizationHeader('my client', 'p@ss:w+rd/%&é'))).toBe('my+client:p%40ss%3Aw%2Brd%2F%25%26%C3%A9');
  });

  test('form encoding keeps unreserved characters and turns spaces into "+"', () => {
    expect(formUrlEncode('aZ09-._* ~')).toBe('aZ09-._*+%7E');
  });

  test('client_secret_basic sends credentials only in the Authorization header', async () => {
    const request = await onlyRequest((send) =>
      requestCodeExchange({ ...BASIC, tokenUrl: 'https://t.example/token', redirectUri: 'https://b.example/cb', code: 'c' }, { send }));
    expect(request.headers.authorization).toBe(basicAuthorizationHeader(BASIC.clientId, BASIC.clientSecret));
    expect(form(request.body)).not.toHaveProperty('client_secret');
    expect(form(request.body)).not.toHaveProperty('client_id');
  });

  test('client_secret_post sends credentials in the body and no Authorization header', async () => {
    const request = await onlyRequest((send) =>
      requestCodeExchange({ ...POST, tokenUrl: 'https://t.example/token', redirectUri: 'https://b.example/cb', code: 'c' }, { send }));
    expect(request.headers).not.toHaveProperty('authorization');
    expect(form(request.body)).toMatchObject({ client_id: 'my client', client_secret: 'p@ss:w+rd/%&é' });
  });
});

describe('requestCodeExchange', () => {
  test('posts the authorization_code grant with the verifier and extra token params as a form', async () => {
    const request = await onlyRequest((send) => requestCodeExchange({
      ...BASIC,
      tokenUrl: 'https://t.example/token',
      redirectUri: 'https://b.example/cb',
      code: 'the code',
      codeVerifier: 'v'.repeat(43),
      tokenParams: { audience: 'api' },
    }, { send }));
    expect(request).toEqual({
      url: 'https://t.example/token',
      method: 'POST',
      headers: expect.objectContaining({
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        authorization: expect.stringMatching(/^Basic /),
      }),
      body: expect.any(String),
    });
    expect(form(request.body)).toEqual({
      grant_type: 'authorization_code', code: 'the code', redirect_uri: 'https://b.example/cb', code_verifier: 'v'.repeat(43), audience: 'api',
    });
  });

  test('when PKCE is off, then no code_verifier is sent', async () => {
    const request = await onlyRequest((send) =>
      requestCodeExchange({ ...BASIC, tokenUrl: 'https://t.example/token', redirectUri: 'https://b.example/cb', code: 'c' }, { send }));
    expect(form(request.body)).not.toHaveProperty('code_verifier');
  });

  test.each(['grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_secret', 'client_id'])(
    'when tokenParams names %s, then it is refused with PROVIDER_INVALID and nothing is sent',
    async (name) => {
      const port = recordingPort();
      await expect(requestCodeExchange({
        ...POST, tokenUrl: 'https://t.example/token', redirectUri: 'https://b.example/cb', code: 'c', tokenParams: { [name]: 'x' },
      }, { send: port.send })).rejects.toMatchObject({ code: 'PROVIDER_INVALID' });
      expect(port.sent).toEqual([]);
    },
  );

  test('when the token endpoint is plain http on a remote host, then nothing is sent', async () => {
    const port = recordingPort();
    await expect(requestCodeExchange({ ...POST, tokenUrl: 'http://t.example/token', redirectUri: 'https://b.example/cb', code: 'c' }, { send: port.send }))
      .rejects.toMatchObject({ code: 'INTERNAL' });
    expect(port.sent).toEqual([]);
  });
});

describe('requestRefresh', () => {
  test('posts the refresh_token grant without scope unless narrowing', async () => {
    const request = await onlyRequest((send) =>
      requestRefresh({ ...POST, tokenUrl: 'https://t.example/token', refreshToken: 'rt', tokenParams: { resource: 'r' } }, { send }));
    expect(form(request.body)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt', resource: 'r', client_id: 'my client', client_secret: 'p@ss:w+rd/%&é' });
  });

  test("when narrowing scopes, then they are joined with the provider's separator", async () => {
    const request = await onlyRequest((send) =>
      requestRefresh({ ...BASIC, tokenUrl: 'https://t.example/token', refreshToken: 'rt', scopes: ['a', 'b'], scopeSeparator: ',' }, { send }));
    expect(form(request.body).scope).toBe('a,b');
  });
});

describe('requestRevocation (RFC 7009)', () => {
  test('posts the token with its type hint and the same client authentication', async () => {
    const request = await onlyRequest((send) =>
      requestRevocation({ ...BASIC, revocationUrl: 'https://t.example/revoke', token: 'rt', tokenTypeHint: 'refresh_token' }, { send }));
    expect(request.url).toBe('https://t.example/revoke');
    expect(request.method).toBe('POST');
    expect(request.headers.authorization).toBe(basicAuthorizationHeader(BASIC.clientId, BASIC.clientSecret));
    expect(form(request.body)).toEqual({ token: 'rt', token_type_hint: 'refresh_token' });
  });

  test('without a hint, then only the token is sent', async () => {
    const request = await onlyRequest((send) => requestRevocation({ ...POST, revocationUrl: 'https://t.example/revoke', token: 'at' }, { send }));
    expect(form(request.body)).toEqual({ token: 'at', client_id: 'my client', client_secret: 'p@ss:w+rd/%&é' });
  });
});
