import { generateKeyPairSync } from 'node:crypto';
import { BrokerError } from '../../src/domain/errors';
import { sendHttpRequest } from '../../src/oauth/http';
import { obtainTokenCredentials } from '../../src/oauth/oauth1/access-token';
import { buildAuthorizationUrl } from '../../src/oauth/oauth1/authorize-url';
import { parseOAuth1Callback } from '../../src/oauth/oauth1/callback';
import { obtainTemporaryCredentials } from '../../src/oauth/oauth1/request-token';
import { buildSignedRequest, OAuth1ClientConfig, sendSignedRequest } from '../../src/oauth/oauth1/signed-request';
import type { SignatureMethod } from '../../src/providers/types';
import { approveAuthorization, OAuth1ProviderHandle, startOAuth1Provider } from '../support/oauth1/start-oauth1-provider';

const CALLBACK_URL = 'http://127.0.0.1:9/api/callback/legacy?keep=1';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

// oauthlib's defaults: consumer keys are 20–30 letters and digits.
const clients: Record<SignatureMethod, OAuth1ClientConfig> = {
  'HMAC-SHA1': { consumerKey: 'hmacsha1consumer000000001', consumerSecret: 'secret one+/&=', signatureMethod: 'HMAC-SHA1' },
  'HMAC-SHA256': { consumerKey: 'hmacsha256consumer0000001', consumerSecret: 'secret two', signatureMethod: 'HMAC-SHA256' },
  'RSA-SHA1': {
    consumerKey: 'rsasha1consumer0000000001',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    signatureMethod: 'RSA-SHA1',
  },
  PLAINTEXT: { consumerKey: 'plaintextconsumer00000001', consumerSecret: 'secret three', signatureMethod: 'PLAINTEXT' },
};

let provider: OAuth1ProviderHandle;

beforeAll(async () => {
  provider = await startOAuth1Provider({
    clients: [
      { consumerKey: clients['HMAC-SHA1'].consumerKey, consumerSecret: clients['HMAC-SHA1'].consumerSecret },
      { consumerKey: clients['HMAC-SHA256'].consumerKey, consumerSecret: clients['HMAC-SHA256'].consumerSecret },
      { consumerKey: clients['RSA-SHA1'].consumerKey, rsaPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      { consumerKey: clients.PLAINTEXT.consumerKey, consumerSecret: clients.PLAINTEXT.consumerSecret },
    ],
    signatureMethods: ['HMAC-SHA1', 'HMAC-SHA256', 'RSA-SHA1', 'PLAINTEXT'],
  });
});

afterAll(async () => {
  await provider?.stop();
});

async function connect(client: OAuth1ClientConfig) {
  const temporary = await obtainTemporaryCredentials({ client, requestTokenUrl: provider.requestTokenUrl, callbackUrl: CALLBACK_URL });
  const location = await approveAuthorization(buildAuthorizationUrl(provider.authorizationUrl, temporary.token), { approve: true });
  expect(location.startsWith('http://127.0.0.1:9/api/callback/legacy?keep=1&')).toBe(true);
  const callback = parseOAuth1Callback(new URL(location).searchParams);
  if (callback.outcome !== 'authorized') throw new Error('expected an authorized callback');
  expect(callback.oauthToken).toBe(temporary.token);
  return obtainTokenCredentials({
    client,
    accessTokenUrl: provider.accessTokenUrl,
    temporaryCredentials: temporary,
    verifier: callback.oauthVerifier,
  });
}

describe.each(['HMAC-SHA1', 'HMAC-SHA256', 'RSA-SHA1', 'PLAINTEXT'] as const)('with %s', (method) => {
  it('when the three legs run against oauthlib, then token credentials come back and signed GET and POST are accepted', async () => {
    const client = clients[method];
    const token = await connect(client);
    expect(token.token).toMatch(/^[A-Za-z0-9]{30}$/);
    expect(token.tokenSecret.length).toBeGreaterThan(0);

    const get = await sendSignedRequest(client, {
      method: 'GET',
      url: provider.url('/api/resource?q=hello+world&tag=a&tag=b&sym=%21%2A%27%28%29'),
      token,
    });
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body.toString())).toMatchObject({
      method: 'GET',
      query: [['q', 'hello world'], ['tag', 'a'], ['tag', 'b'], ['sym', "!*'()"]],
      consumerKey: client.consumerKey,
      token: token.token,
      signatureMethod: method,
    });

    const post = await sendSignedRequest(client, {
      method: 'POST',
      url: provider.url('/api/resource?from=query'),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'status=Hello%20Ladies%20%2B%20Gentlemen&status=again&empty=',
      token,
    });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body.toString())).toMatchObject({
      method: 'POST',
      query: [['from', 'query']],
      form: [['status', 'Hello Ladies + Gentlemen'], ['status', 'again'], ['empty', '']],
    });
  });
});

describe.each(['query', 'body'] as const)('with protocol parameters in the %s', (placement) => {
  it('when the legs and a signed POST run, then oauthlib accepts them', async () => {
    const client: OAuth1ClientConfig = { ...clients['HMAC-SHA1'], placement };
    const token = await connect(client);
    const post = await sendSignedRequest(client, {
      method: 'POST',
      url: provider.url('/api/resource?x=1'),
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: 'a=1',
      token,
    });
    expect(post.status).toBe(200);
    const entries = await provider.log();
    expect(entries.filter((entry) => entry.path === '/oauth/access_token').at(-1)?.oauthIn).toBe(placement);
  });
});

describe('refusals', () => {
  it('when the signature is tampered with, then the provider answers 401', async () => {
    const client = clients['HMAC-SHA1'];
    const token = await connect(client);
    const request = buildSignedRequest(client, { method: 'GET', url: provider.url('/api/resource?x=1'), token });
    request.headers.Authorization = request.headers.Authorization.replace(/oauth_signature="[^"]+"/, 'oauth_signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"');
    const response = await sendHttpRequest(request);
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body.toString())).toEqual({ error: 'signature_invalid' });
  });

  it('when the same signed request is replayed, then the provider refuses the reused nonce', async () => {
    const client = clients['HMAC-SHA1'];
    const token = await connect(client);
    const request = buildSignedRequest(client, { method: 'GET', url: provider.url('/api/resource'), token });
    expect((await sendHttpRequest(request)).status).toBe(200);
    expect((await sendHttpRequest(request)).status).toBe(401);
  });

  it('when the consumer secret is wrong, then OAUTH_PROVIDER_ERROR keeps the provider problem', async () => {
    const client = { ...clients['HMAC-SHA1'], consumerSecret: 'not the secret' };
    const error = await obtainTemporaryCredentials({ client, requestTokenUrl: provider.requestTokenUrl, callbackUrl: CALLBACK_URL }).catch((e) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).toMatchObject({
      code: 'OAUTH_PROVIDER_ERROR',
      providerStatus: 401,
      providerError: 'signature_invalid',
      message: 'Provider refused the temporary credentials request (HTTP 401: signature_invalid)',
    });
    expect(error.message).not.toContain('not the secret');
  });

  it('when the resource owner denies, then the callback says denied with the request token and the token step is refused', async () => {
    const client = clients['HMAC-SHA1'];
    const temporary = await obtainTemporaryCredentials({ client, requestTokenUrl: provider.requestTokenUrl, callbackUrl: CALLBACK_URL });
    const location = await approveAuthorization(buildAuthorizationUrl(provider.authorizationUrl, temporary.token), { approve: false });
    expect(parseOAuth1Callback(new URL(location).searchParams)).toEqual({
      outcome: 'denied',
      oauthToken: temporary.token,
      problem: 'access_denied',
    });
    const error = await obtainTokenCredentials({
      client,
      accessTokenUrl: provider.accessTokenUrl,
      temporaryCredentials: temporary,
      verifier: 'aaaaaaaaaaaaaaaaaaaaaaaaa',
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'OAUTH_PROVIDER_ERROR', providerStatus: 401 });
  });

  it('when the authorization is approved directly by URL, then the redirect carries oauth_token and oauth_verifier', async () => {
    const client = clients['HMAC-SHA1'];
    const temporary = await obtainTemporaryCredentials({ client, requestTokenUrl: provider.requestTokenUrl, callbackUrl: CALLBACK_URL });
    const response = await fetch(buildAuthorizationUrl(provider.authorizationUrl, temporary.token, { decision: 'approve' }), { redirect: 'manual' });
    expect(response.status).toBe(302);
    const callback = parseOAuth1Callback(new URL(response.headers.get('location') as string).searchParams);
    expect(callback).toMatchObject({ outcome: 'authorized', oauthToken: temporary.token });
  });
});

describe('provider faults', () => {
  const requestToken = () =>
    obtainTemporaryCredentials({ client: clients['HMAC-SHA1'], requestTokenUrl: provider.requestTokenUrl, callbackUrl: CALLBACK_URL }).catch(
      (e) => e,
    );

  it('when the provider answers 503 with Retry-After, then transient PROVIDER_UNAVAILABLE with the delay', async () => {
    await provider.setFault({ request_token: { status: 503, retryAfter: 7 } });
    expect(await requestToken()).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', transient: true, providerStatus: 503, retryAfterSeconds: 7 });
  });

  it('when the provider answers 429, then transient PROVIDER_UNAVAILABLE', async () => {
    await provider.setFault({ request_token: { status: 429 } });
    expect(await requestToken()).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', transient: true });
  });

  it('when the provider answers 200 with an HTML page, then OAUTH_INVALID_RESPONSE', async () => {
    await provider.setFault({ request_token: { status: 200, contentType: 'text/html', body: '<html><body>Sign in</body></html>' } });
    expect(await requestToken()).toMatchObject({
      code: 'OAUTH_INVALID_RESPONSE',
      message: "Provider's temporary credentials response is invalid: the body is markup, not form-encoded",
    });
  });

  it('when oauth_callback_confirmed is missing, then OAUTH_CALLBACK_NOT_CONFIRMED', async () => {
    await provider.setFault({
      request_token: { status: 200, contentType: 'application/x-www-form-urlencoded', body: 'oauth_token=abc&oauth_token_secret=def' },
    });
    expect(await requestToken()).toMatchObject({ code: 'OAUTH_CALLBACK_NOT_CONFIRMED' });
  });

  it('when the provider refuses with oauth_problem and advice, then both are kept', async () => {
    await provider.setFault({
      request_token: { status: 400, body: 'oauth_problem=parameter_absent&oauth_problem_advice=Missing%20callback' },
    });
    expect(await requestToken()).toMatchObject({
      code: 'OAUTH_PROVIDER_ERROR',
      providerStatus: 400,
      providerError: 'parameter_absent',
      providerErrorDescription: 'Missing callback',
    });
  });

  it('when a fault is served, then the provider log records it', async () => {
    await provider.clearLog();
    await provider.setFault({ request_token: { status: 500 } });
    await requestToken();
    expect(await provider.log()).toEqual([expect.objectContaining({ method: 'POST', path: '/oauth/request_token', status: 500, outcome: 'fault' })]);
  });
});
