/**
 * Discovery (OpenID Connect Discovery / RFC 8414) and ID Token validation against a real
 * oidc-provider, plus malformed metadata from a loopback server that serves what a test says.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerError } from '../../src/domain/errors';
import { dispatch, HttpSend } from '../../src/oauth/http';
import { parseAuthorizationResponse } from '../../src/oauth/oauth2/authorization-response';
import { buildAuthorizationUrl } from '../../src/oauth/oauth2/authorize-url';
import { exchangeCode } from '../../src/oauth/oauth2/client';
import { discoverServer, forgetDiscovered, requireEndpoint } from '../../src/oauth/oauth2/discovery';
import { providerServer, withRediscovery } from '../../src/oauth/oauth2/endpoints';
import { createPkcePair } from '../../src/oauth/oauth2/pkce';
import type { ClientAuthentication } from '../../src/oauth/oauth2/token-request';
import { completeConsent } from '../support/oidc/complete-consent';
import { OidcProviderHandle, startOidcProvider } from '../support/oidc/start-oidc-provider';

const REDIRECT_URI = 'http://127.0.0.1:9/api/callback/acme';
const CLIENT: ClientAuthentication = { clientId: 'id-client', clientSecret: 'id-secret', clientAuthMethod: 'client_secret_basic' };
const SCOPES = ['openid', 'profile', 'email', 'read'];
const NONCE = 'nonce-sealed-at-begin-authorization';

let provider: OidcProviderHandle;
let metadataServer: Server;
let metadataOrigin: string;
/** Path → JSON document the metadata server answers with (404 otherwise). */
let documents: Record<string, unknown> = {};

beforeAll(async () => {
  provider = await startOidcProvider({
    clients: [{
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
  });
  metadataServer = createServer((req, res) => {
    const document = documents[req.url ?? ''];
    res.writeHead(document === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(document ?? { error: 'not_found' }));
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  metadataOrigin = `http://127.0.0.1:${(metadataServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await provider?.stop();
  metadataServer?.closeAllConnections();
  await new Promise((resolve) => metadataServer?.close(resolve));
});

/** The broker's port, counting the requests that pass through it. */
function countingPort(): { send: HttpSend; urls: string[] } {
  const urls: string[] = [];
  return { urls, send: (request, options) => (urls.push(request.url), dispatch(request, { ...options, send: undefined })) };
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

describe('discovery', () => {
  test('when a definition gives only the issuer, then every endpoint comes from its OpenID configuration', async () => {
    const target = { name: 'only-issuer', issuer: provider.issuer };
    const server = await discoverServer(target);
    expect(server).toEqual(expect.objectContaining({
      issuer: provider.issuer,
      authorizationUrl: provider.url('/auth'),
      tokenUrl: provider.url('/token'),
      revocationUrl: provider.url('/token/revocation'),
      introspectionUrl: provider.url('/token/introspection'),
      jwksUrl: provider.url('/jwks'),
    }));
    forgetDiscovered(target);
  });

  test('the metadata is fetched once, and again only after it was forgotten', async () => {
    const target = { name: 'cached', issuer: provider.issuer };
    const port = countingPort();
    await discoverServer(target, { send: port.send });
    await discoverServer(target, { send: port.send });
    expect(port.urls).toEqual([provider.url('/.well-known/openid-configuration')]);
    forgetDiscovered(target);
    await discoverServer(target, { send: port.send });
    expect(port.urls).toHaveLength(2);
    forgetDiscovered(target);
  });

  test('when the fetch fails, then the failure is not cached and the next use fetches again', async () => {
    const target = { name: 'flaky', issuer: provider.issuer };
    const down: HttpSend = async () => {
      throw new BrokerError('PROVIDER_UNAVAILABLE', 'down', { transient: true });
    };
    expect((await rejection(discoverServer(target, { send: down }))).code).toBe('PROVIDER_UNAVAILABLE');
    expect((await discoverServer(target)).tokenUrl).toBe(provider.url('/token'));
    forgetDiscovered(target);
  });

  test('when the issuer has no OpenID configuration, then RFC 8414 metadata is used', async () => {
    const issuer = `${metadataOrigin}/tenant-a`;
    documents = {
      '/.well-known/oauth-authorization-server/tenant-a': {
        issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
      },
    };
    const server = await discoverServer({ name: 'rfc8414', issuer });
    expect(server).toEqual({ issuer, authorizationUrl: `${issuer}/authorize`, tokenUrl: `${issuer}/token` });
  });

  test.each([
    ['the issuer differs', { issuer: 'https://elsewhere.example' }, 'issuer', /provider "bad-\d": discovered metadata "issuer" is "https:\/\/elsewhere.example", not the configured issuer/],
    ['an endpoint is remote http', { token_endpoint: 'http://idp.example/token' }, 'token_endpoint', /provider "bad-\d": discovered metadata "token_endpoint" must use https/],
    ['an endpoint is not a URL', { jwks_uri: 'not a url' }, 'jwks_uri', /provider "bad-\d": discovered metadata "jwks_uri" must be an absolute URL/],
  ])('when %s, then PROVIDER_METADATA_INVALID names the provider and field', async (_case, override, field, message) => {
    const name = `bad-${Object.keys(documents).length % 10}`;
    const issuer = `${metadataOrigin}/${field}`;
    documents = {
      [`/${field}/.well-known/openid-configuration`]: {
        issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, ...override,
      },
    };
    const error = await rejection(discoverServer({ name, issuer }));
    expect(error.code).toBe('PROVIDER_METADATA_INVALID');
    expect(error.message).toMatch(message);
    expect(error.details).toEqual({ provider: name, field });
  });

  test('when the metadata lacks an endpoint the definition does not set either, then the message names both', async () => {
    const issuer = `${metadataOrigin}/no-token`;
    documents = { '/no-token/.well-known/openid-configuration': { issuer, authorization_endpoint: `${issuer}/authorize` } };
    const server = await discoverServer({ name: 'no-token', issuer });
    const error = (() => {
      try {
        requireEndpoint({ name: 'no-token' }, server, 'tokenUrl');
      } catch (caught) {
        return caught as BrokerError;
      }
      throw new Error('expected a BrokerError');
    })();
    expect(error).toEqual(expect.objectContaining({
      code: 'PROVIDER_METADATA_INVALID',
      message: 'provider "no-token": discovered metadata "token_endpoint" is missing, and the definition does not set "tokenUrl"',
    }));
  });
});

describe('ID Token validation (openid in the scopes)', () => {
  async function codeFor(nonce: string | undefined) {
    const pkce = createPkcePair();
    const url = buildAuthorizationUrl({
      authorizationUrl: provider.url('/auth'), clientId: CLIENT.clientId, redirectUri: REDIRECT_URI, scopes: SCOPES, state: 'st', codeChallenge: pkce.codeChallenge, nonce,
    });
    const callback = parseAuthorizationResponse(new URL(await completeConsent(url, { account: 'alice', approve: true })).searchParams);
    if (callback.kind !== 'code') throw new Error(callback.error);
    return { code: callback.code, codeVerifier: pkce.codeVerifier };
  }

  const check = (overrides: Partial<{ issuer: string; clientId: string; nonce: string }> = {}) => ({
    issuer: provider.issuer, jwksUrl: provider.url('/jwks'), clientId: CLIENT.clientId, nonce: NONCE, ...overrides,
  });

  async function exchangeWith(idToken: ReturnType<typeof check>, send?: HttpSend) {
    const { code, codeVerifier } = await codeFor(NONCE);
    return exchangeCode({ ...CLIENT, tokenUrl: provider.url('/token'), redirectUri: REDIRECT_URI, code, codeVerifier, requestedScopes: SCOPES, idToken }, { send });
  }

  test('when the ID Token is valid, then the exchange names the upstream account', async () => {
    const tokens = await exchangeWith(check());
    expect(tokens.account).toEqual({ issuer: provider.issuer, subject: 'alice', displayName: 'Test user alice', email: 'alice@users.example' });
  });

  test('when the nonce differs from the one sealed at begin-authorization, then ID_TOKEN_INVALID', async () => {
    const error = await rejection(exchangeWith(check({ nonce: 'another-nonce' })));
    expect(error.code).toBe('ID_TOKEN_INVALID');
    expect(error.message).toMatch(/nonce/);
  });

  test('when the ID Token was issued to another client (aud), then ID_TOKEN_INVALID', async () => {
    const error = await rejection(exchangeWith(check({ clientId: 'someone-else' })));
    expect(error).toEqual(expect.objectContaining({ code: 'ID_TOKEN_INVALID', message: expect.stringMatching(/aud/) }));
  });

  test('when the ID Token comes from another issuer, then ID_TOKEN_INVALID', async () => {
    const error = await rejection(exchangeWith(check({ issuer: 'https://other-issuer.example' })));
    expect(error).toEqual(expect.objectContaining({ code: 'ID_TOKEN_INVALID', message: expect.stringMatching(/iss/) }));
  });

  test('when the ID Token payload was tampered with in transit, then its signature fails: ID_TOKEN_INVALID', async () => {
    const tamper: HttpSend = async (request, options) => {
      const answer = await dispatch(request, { ...options, send: undefined });
      if (!request.url.endsWith('/token')) return answer;
      const body = JSON.parse(answer.body.toString('utf8'));
      const [header, payload, signature] = String(body.id_token).split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      body.id_token = [header, Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url'), signature].join('.');
      return { ...answer, body: Buffer.from(JSON.stringify(body)) };
    };
    const error = await rejection(exchangeWith(check(), tamper));
    expect(error.code).toBe('ID_TOKEN_INVALID');
  });

  test('when openid was requested but the answer has no ID Token, then ID_TOKEN_INVALID', async () => {
    const strip: HttpSend = async (request, options) => {
      const answer = await dispatch(request, { ...options, send: undefined });
      if (!request.url.endsWith('/token')) return answer;
      const { id_token: _dropped, ...rest } = JSON.parse(answer.body.toString('utf8'));
      return { ...answer, body: Buffer.from(JSON.stringify(rest)) };
    };
    expect((await rejection(exchangeWith(check(), strip))).code).toBe('ID_TOKEN_INVALID');
  });
});

describe('endpoints from definition and discovery', () => {
  test('explicit fields win over discovered ones; the rest are discovered', async () => {
    const definition = { name: 'mixed', issuer: provider.issuer, tokenUrl: provider.url('/token?explicit=1') };
    const server = await providerServer(definition);
    expect(server).toEqual(expect.objectContaining({
      tokenUrl: provider.url('/token?explicit=1'),
      authorizationUrl: provider.url('/auth'),
      jwksUrl: provider.url('/jwks'),
    }));
    forgetDiscovered(definition);
  });

  test('without an issuer, nothing is fetched and a missing endpoint is named', async () => {
    const port = countingPort();
    const error = await rejection(providerServer({ name: 'no-issuer', authorizationUrl: provider.url('/auth') }, { send: port.send }));
    expect(error.message).toBe('provider "no-issuer": discovered metadata "token_endpoint" is missing, and the definition does not set "tokenUrl"');
    expect(port.urls).toEqual([]);
  });

  test('when a call with discovered endpoints fails at the transport, then the next use discovers again', async () => {
    const definition = { name: 'moved', issuer: provider.issuer };
    const port = countingPort();
    const server = await providerServer(definition, { send: port.send });
    await rejection(withRediscovery(definition, server, async () => {
      throw new BrokerError('PROVIDER_UNAVAILABLE', 'gone', { transient: true });
    }));
    await providerServer(definition, { send: port.send });
    expect(port.urls).toEqual([provider.url('/.well-known/openid-configuration'), provider.url('/.well-known/openid-configuration')]);
    // A provider's OAuth error says nothing about its endpoints: the metadata stays cached.
    await rejection(withRediscovery(definition, server, async () => {
      throw new BrokerError('OAUTH_INVALID_GRANT', 'used code', { providerError: 'invalid_grant' });
    }));
    await providerServer(definition, { send: port.send });
    expect(port.urls).toHaveLength(2);
    forgetDiscovered(definition);
  });
});
