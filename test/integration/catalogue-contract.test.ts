/**
 * One contract test per catalogue entry (style anchors, convention 3; grant's test/flow/oauth2.js):
 * each entry is resolved with credentials, its endpoints are re-pointed at a recording server
 * (keeping the real host as a path prefix, and the real path and query), and the requests the
 * broker puts on the wire are checked field by field. The authorization starts through the real
 * begin-authorization service, as POST /connections starts it.
 */
import { createHash, createHmac, generateKeyPairSync, KeyObject, verify as rsaVerify } from 'node:crypto';
import type { Connection } from '../../src/domain/connection';
import { obtainTokenCredentials } from '../../src/oauth/oauth1/access-token';
import { OAuth1Param, percentEncode, signatureBaseString } from '../../src/oauth/oauth1/sign';
import { sendHttpRequest } from '../../src/oauth/http';
import { DpopNonceBook } from '../../src/oauth/oauth2/dpop';
import { exchangeCode, revokeToken } from '../../src/oauth/oauth2/client';
import { CATALOGUE } from '../../src/providers/catalogue';
import type { CatalogueEntry } from '../../src/providers/definition-fields';
import { CURATED_PROVIDERS } from '../../src/providers/curated';
import { buildProviderRegistry, ProviderRegistry } from '../../src/providers/registry';
import type { OAuth1ProviderDefinition, OAuth2ProviderDefinition, ProviderDefinition } from '../../src/providers/types';
import { authorizationIdForRequestToken, authorizationIdForState, beginAuthorization } from '../../src/services/begin-authorization';
import { oauth1Client, oauth2Client } from '../../src/services/provider-clients';
import type { Runtime } from '../../src/services/runtime';
import type { AuthorizationAttempt } from '../../src/storage/authorizations-repo';
import type { AuthorizationSecrets } from '../../src/storage/credentials';
import { RecordedRequest, RecordingServer, startRecordingServer } from '../support/recording-server';

const grant: Record<string, unknown> = require('grant/config/oauth.json');

// Characters that must be encoded everywhere they appear (form, Basic credentials, OAuth header).
const CLIENT_ID = 'contract client:ü+/';
const CLIENT_SECRET = 's3cr:et +%&=';
const TEMPLATE_VALUE = 'acme';
const BROKER_BASE_URL = 'https://broker.example.com';
const EXTRA_SCOPES = ['contract.read', 'contract.write'];
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

const NAMES = [...CATALOGUE.keys()].sort();
const OAUTH2_NAMES = NAMES.filter((name) => CATALOGUE.get(name)?.protocol === 'oauth2');
const OAUTH1_NAMES = NAMES.filter((name) => CATALOGUE.get(name)?.protocol === 'oauth1');

let rsaKeys: { privatePem: string; publicKey: KeyObject } | undefined;
/** Generated only if some entry signs with RSA-SHA1 (key generation is the slow part). */
function rsaKeyPair(): { privatePem: string; publicKey: KeyObject } {
  if (!rsaKeys) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsaKeys = { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
  }
  return rsaKeys;
}

/** What an operator adds to a catalogue entry to use it: credentials and the template values it names. */
function operatorLayer(entry: CatalogueEntry, templateVariables: readonly string[]): Record<string, unknown> {
  const usesRsa = entry.protocol === 'oauth1' && entry.signatureMethod === 'RSA-SHA1';
  return {
    clientId: CLIENT_ID,
    ...(usesRsa ? { privateKey: rsaKeyPair().privatePem } : { clientSecret: CLIENT_SECRET }),
    ...(templateVariables.length > 0 ? { templateValues: Object.fromEntries(templateVariables.map((v) => [v, TEMPLATE_VALUE])) } : {}),
  };
}

function buildConfiguredRegistry(): ProviderRegistry {
  const unconfigured = buildProviderRegistry(CATALOGUE, []);
  const layers = Object.fromEntries(
    NAMES.map((name) => [name, operatorLayer(CATALOGUE.get(name) as CatalogueEntry, unconfigured.resolve(name)?.templateVariables ?? [])]),
  );
  return buildProviderRegistry(CATALOGUE, [{ source: 'contract test', json: layers }]);
}

function onRecordingServer<T extends ProviderDefinition>(definition: T, server: RecordingServer): T {
  const rebased: Record<string, unknown> = { ...definition };
  for (const field of ['authorizationUrl', 'tokenUrl', 'revocationUrl', 'requestTokenUrl', 'accessTokenUrl'] as const) {
    const url = rebased[field];
    if (typeof url === 'string') rebased[field] = server.rebase(url);
  }
  return rebased as T;
}

/** The path the broker must hit on the recording server for a real endpoint: its host as prefix, then its path. */
function endpointPath(realUrl: string): string {
  const url = new URL(realUrl);
  return `/${url.host}${url.pathname}`;
}

/** The whole request target for a real endpoint: {@link endpointPath} and the endpoint's own query. */
function expectedTarget(realUrl: string): string {
  return `${endpointPath(realUrl)}${new URL(realUrl).search}`;
}

/** The client reads only provider secrets from the runtime. */
const secretsOnly = {
  secrets: {
    clientSecret: async (provider: ProviderDefinition) => provider.clientSecret,
    privateKey: async (provider: OAuth1ProviderDefinition) => provider.privateKey,
  },
} as unknown as Runtime;

interface Begun {
  authorizationUrl: URL;
  attempt: AuthorizationAttempt;
  secrets: AuthorizationSecrets;
}

/**
 * Starts an authorization the way POST /connections does (begin-authorization with the broker's
 * settings, secrets and HTTP port) and keeps what it stored in the pending row.
 */
async function beginThroughService(provider: ProviderDefinition, scopes: string[]): Promise<Begun> {
  const stored: Array<{ attempt: AuthorizationAttempt; secrets: AuthorizationSecrets }> = [];
  const runtime = {
    ...secretsOnly,
    settings: { baseUrl: BROKER_BASE_URL, authorizationTimeoutSeconds: 600, allowedReturnUrls: [] },
    http: { send: sendHttpRequest },
    dpopNonces: new DpopNonceBook(),
    authorizations: {
      create: async (attempt: AuthorizationAttempt, secrets: AuthorizationSecrets) => {
        stored.push({ attempt, secrets });
      },
    },
  } as unknown as Runtime;
  const connection = { connectionId: `contract-${provider.name}`, clientId: 'contract-app' } as Connection;
  const start = await beginAuthorization(runtime, provider, connection, scopes, new Date());
  expect(stored).toHaveLength(1);
  expect(stored[0].attempt).toMatchObject({ authorizationId: start.authorizationId, connectionId: connection.connectionId, provider: provider.name });
  expect(stored[0].secrets.authorizationUrl).toBe(start.authorizationUrl);
  return { authorizationUrl: new URL(start.authorizationUrl), ...stored[0] };
}

function redirectUriFor(name: string): string {
  return `${BROKER_BASE_URL}/api/callback/${encodeURIComponent(name)}`;
}

/** Same path as the real endpoint (host as prefix) and its query; OAuth 1.0a query placement adds `oauth_*`. */
function expectAddressedTo(request: RecordedRequest, realUrl: string): void {
  const received = new URL(request.url);
  expect(received.pathname).toBe(endpointPath(realUrl));
  expect([...received.searchParams].filter(([name]) => !name.startsWith('oauth_'))).toEqual([...new URL(realUrl).searchParams]);
}

/** All pairs as an object; fails on a repeated name, which an object would hide. */
function uniquePairs(pairs: Iterable<[string, string]>): Record<string, string> {
  const list = [...pairs];
  const object = Object.fromEntries(list);
  expect(Object.keys(object)).toHaveLength(list.length);
  return object;
}

function formOf(request: RecordedRequest): Record<string, string> {
  expect(request.headers['content-type']).toBe(FORM_CONTENT_TYPE);
  return uniquePairs(new URLSearchParams(request.body));
}

/** RFC 6749 §2.3.1, computed independently of the broker's helper. */
function expectedBasicCredentials(clientId: string, clientSecret: string): string {
  const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice('v='.length);
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

function expectedClientAuthentication(definition: OAuth2ProviderDefinition): { form: Record<string, string>; authorization?: string } {
  return definition.clientAuthMethod === 'client_secret_basic'
    ? { form: {}, authorization: expectedBasicCredentials(CLIENT_ID, CLIENT_SECRET) }
    : { form: { client_id: CLIENT_ID, client_secret: CLIENT_SECRET } };
}

function takeOnlyRequest(server: RecordingServer): RecordedRequest {
  const requests = server.takeRequests();
  expect(requests).toHaveLength(1);
  return requests[0];
}

/** `Authorization: OAuth k="v", …` → decoded pairs (RFC 5849 §3.5.1); `realm` is not a parameter. */
function oauthHeaderParams(header: string | undefined): OAuth1Param[] {
  if (header === undefined) return [];
  expect(header.startsWith('OAuth ')).toBe(true);
  const params: OAuth1Param[] = [];
  for (const match of header.slice('OAuth '.length).matchAll(/([^\s=,]+)="([^"]*)"/g)) {
    if (match[1] !== 'realm') params.push([decodeURIComponent(match[1]), decodeURIComponent(match[2])]);
  }
  return params;
}

interface ReceivedOAuth1Request {
  /** Protocol parameters wherever they travelled, `oauth_signature` included. */
  oauth: Record<string, string>;
  /** Where the protocol parameters were found. */
  placement: 'header' | 'query' | 'body';
  /** Recomputed from what the server received, without `oauth_signature`. */
  baseString: string;
}

/** Reads an OAuth 1.0a request the way a provider does: collect parameters, rebuild the base string (§3.4.1). */
function readOAuth1Request(request: RecordedRequest): ReceivedOAuth1Request {
  const url = new URL(request.url);
  const isForm = request.headers['content-type'] === FORM_CONTENT_TYPE;
  const sources = {
    header: oauthHeaderParams(request.headers.authorization),
    query: [...url.searchParams],
    body: isForm ? [...new URLSearchParams(request.body)] : [],
  };
  const carrying = (Object.keys(sources) as (keyof typeof sources)[]).filter((place) =>
    sources[place].some(([name]) => name.startsWith('oauth_')),
  );
  expect(carrying).toHaveLength(1);
  const placement = carrying[0];
  const oauth = uniquePairs(sources[placement].filter(([name]) => name.startsWith('oauth_')) as [string, string][]);

  const signedUrl = new URL(url);
  signedUrl.searchParams.delete('oauth_signature');
  const withoutSignature = (params: OAuth1Param[]) => params.filter(([name]) => name !== 'oauth_signature');
  const baseString = signatureBaseString(request.method, signedUrl.toString(), [
    ...withoutSignature(sources.header),
    ...withoutSignature(sources.body),
  ]);
  return { oauth, placement, baseString };
}

/** Checks the signature the way the provider would, with the consumer's secret (or public key). */
function expectValidSignature(definition: OAuth1ProviderDefinition, received: ReceivedOAuth1Request, tokenSecret = ''): void {
  const signature = received.oauth.oauth_signature;
  const key = `${percentEncode(CLIENT_SECRET)}&${percentEncode(tokenSecret)}`;
  switch (definition.signatureMethod) {
    case 'HMAC-SHA1':
      expect(signature).toBe(createHmac('sha1', key).update(received.baseString).digest('base64'));
      return;
    case 'HMAC-SHA256':
      expect(signature).toBe(createHmac('sha256', key).update(received.baseString).digest('base64'));
      return;
    case 'RSA-SHA1':
      expect(rsaVerify('sha1', Buffer.from(received.baseString), rsaKeyPair().publicKey, Buffer.from(signature, 'base64'))).toBe(true);
      return;
    case 'PLAINTEXT':
      expect(signature).toBe(key);
      return;
  }
}

let server: RecordingServer;
let registry: ProviderRegistry;

beforeAll(async () => {
  registry = buildConfiguredRegistry();
  server = await startRecordingServer();
});

afterAll(async () => {
  await server?.close();
});

afterEach(() => {
  server?.takeRequests();
});

describe('the catalogue', () => {
  it("holds grant's providers and the curated ones, at least 25 of them curated", () => {
    expect(Object.keys(CURATED_PROVIDERS).length).toBeGreaterThanOrEqual(25);
    expect(NAMES).toEqual([...new Set([...Object.keys(grant), ...Object.keys(CURATED_PROVIDERS)])].sort());
    expect(OAUTH1_NAMES.length + OAUTH2_NAMES.length).toBe(NAMES.length);
  });

  it('resolves every name, without credentials and, once credentials and template values are given, as configured', () => {
    const unconfigured = buildProviderRegistry(CATALOGUE, []);
    for (const name of NAMES) {
      expect(unconfigured.resolve(name)?.name).toBe(name);
      expect(registry.resolve(name)).toMatchObject({ name, clientId: CLIENT_ID });
      expect(registry.resolve(name)?.templateVariables).toBeUndefined();
      expect(registry.isConfigured(name)).toBe(true);
    }
    expect(registry.listConfigured().map((definition) => definition.name)).toEqual(NAMES);
  });

  it('joins no scopes with "+", which a query only carries encoded (%2B) while providers writing "a+b" mean a space', () => {
    const plusSeparated = OAUTH2_NAMES.filter((name) => (registry.resolve(name) as OAuth2ProviderDefinition).scopeSeparator === '+');
    expect(plusSeparated).toEqual([]);
  });
});

describe('OAuth 2.0 catalogue entries against a recording server', () => {
  test.each(OAUTH2_NAMES)('%s: authorize URL, code exchange and revocation carry exactly what the entry defines', async (name) => {
    // Catalogue entries name their endpoints; only user definitions may leave them to discovery.
    const real = registry.resolve(name) as OAuth2ProviderDefinition & Required<Pick<OAuth2ProviderDefinition, 'authorizationUrl' | 'tokenUrl'>>;
    const provider = onRecordingServer(real, server);
    const redirectUri = redirectUriFor(name);
    const scopes = [...provider.defaultScopes, ...EXTRA_SCOPES];

    const begun = await beginThroughService(provider, scopes);
    const authorizationUrl = begun.authorizationUrl;
    // The state is random (256 bits, base64url); the pending row is keyed by its hash.
    const state = authorizationUrl.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(begun.attempt.authorizationId).toBe(authorizationIdForState(state));
    expect(begun.secrets.redirectUri).toBe(redirectUri);
    const codeVerifier = begun.secrets.codeVerifier;
    expect(codeVerifier !== undefined).toBe(provider.pkce);
    const pkce = codeVerifier === undefined ? undefined : { codeVerifier, codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url') };
    expect(authorizationUrl.pathname).toBe(endpointPath(real.authorizationUrl));
    expect(uniquePairs(authorizationUrl.searchParams)).toEqual({
      ...Object.fromEntries(new URL(real.authorizationUrl).searchParams),
      ...provider.authorizationParams,
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: redirectUri,
      scope: scopes.join(provider.scopeSeparator),
      state,
      ...(pkce ? { code_challenge: pkce.codeChallenge, code_challenge_method: 'S256' } : {}),
    });

    server.answerWith({
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify({ access_token: `at-${name}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${name}` }),
    });
    const tokens = await exchangeCode({
      ...(await oauth2Client(secretsOnly, provider)),
      tokenUrl: provider.tokenUrl,
      redirectUri,
      code: `code-${name}`,
      codeVerifier: pkce?.codeVerifier,
      tokenParams: provider.tokenParams,
      requestedScopes: scopes,
      scopeSeparator: provider.scopeSeparator,
    });
    expect(tokens).toMatchObject({ accessToken: `at-${name}`, refreshToken: `rt-${name}`, expiresIn: 3600, scopes });

    const clientAuthentication = expectedClientAuthentication(provider);
    const exchange = takeOnlyRequest(server);
    expect(exchange.method).toBe('POST');
    expect(exchange.target).toBe(expectedTarget(real.tokenUrl));
    expect(exchange.headers.accept).toBe('application/json');
    expect(exchange.headers.authorization).toBe(clientAuthentication.authorization);
    expect(formOf(exchange)).toEqual({
      ...provider.tokenParams,
      grant_type: 'authorization_code',
      code: `code-${name}`,
      redirect_uri: redirectUri,
      ...(pkce ? { code_verifier: pkce.codeVerifier } : {}),
      ...clientAuthentication.form,
    });

    if (real.revocationUrl === undefined) return;
    server.answerWith({ status: 200 });
    await revokeToken({
      ...(await oauth2Client(secretsOnly, provider)),
      revocationUrl: provider.revocationUrl as string,
      token: `rt-${name}`,
      tokenTypeHint: 'refresh_token',
    });
    const revocation = takeOnlyRequest(server);
    expect(revocation.method).toBe('POST');
    expect(revocation.target).toBe(expectedTarget(real.revocationUrl));
    expect(revocation.headers.authorization).toBe(clientAuthentication.authorization);
    expect(formOf(revocation)).toEqual({ token: `rt-${name}`, token_type_hint: 'refresh_token', ...clientAuthentication.form });
  });
});

describe('OAuth 1.0a catalogue entries against a recording server', () => {
  test.each(OAUTH1_NAMES)('%s: request token, authorize URL and access token are signed and addressed as the entry defines', async (name) => {
    const real = registry.resolve(name) as OAuth1ProviderDefinition;
    const provider = onRecordingServer(real, server);
    const client = await oauth1Client(secretsOnly, provider);
    const redirectUri = redirectUriFor(name);

    server.answerWith({
      status: 200,
      headers: { 'content-type': FORM_CONTENT_TYPE },
      body: `oauth_token=rt-${name}&oauth_token_secret=rts-${name}&oauth_callback_confirmed=true`,
    });
    const begun = await beginThroughService(provider, []);
    const temporary = { token: begun.secrets.requestToken ?? '', tokenSecret: begun.secrets.requestTokenSecret ?? '' };
    expect(temporary).toMatchObject({ token: `rt-${name}`, tokenSecret: `rts-${name}` });
    expect(begun.attempt.authorizationId).toBe(authorizationIdForRequestToken(`rt-${name}`));
    expect(begun.secrets.redirectUri).toBe(redirectUri);

    const requestTokenRequest = takeOnlyRequest(server);
    expect(requestTokenRequest.method).toBe('POST');
    expectAddressedTo(requestTokenRequest, real.requestTokenUrl);
    const requestToken = readOAuth1Request(requestTokenRequest);
    expect(requestToken.placement).toBe(provider.parameterPlacement);
    expect(requestToken.oauth).toEqual({
      oauth_callback: redirectUri,
      oauth_consumer_key: CLIENT_ID,
      oauth_signature_method: provider.signatureMethod,
      oauth_nonce: expect.stringMatching(/^[A-Za-z0-9]{20,}$/),
      oauth_timestamp: expect.stringMatching(/^\d+$/),
      oauth_version: '1.0',
      oauth_signature: expect.any(String),
    });
    expectValidSignature(provider, requestToken);

    const authorizationUrl = begun.authorizationUrl;
    expect(authorizationUrl.pathname).toBe(endpointPath(real.authorizationUrl));
    expect(uniquePairs(authorizationUrl.searchParams)).toEqual({
      ...Object.fromEntries(new URL(real.authorizationUrl).searchParams),
      oauth_token: `rt-${name}`,
      ...provider.authorizationParams,
    });

    server.answerWith({
      status: 200,
      headers: { 'content-type': FORM_CONTENT_TYPE },
      body: `oauth_token=at-${name}&oauth_token_secret=ats-${name}`,
    });
    const issued = await obtainTokenCredentials({
      client,
      accessTokenUrl: provider.accessTokenUrl,
      temporaryCredentials: temporary,
      verifier: `verifier-${name}`,
    });
    expect(issued).toMatchObject({ token: `at-${name}`, tokenSecret: `ats-${name}` });

    const accessTokenRequest = takeOnlyRequest(server);
    expect(accessTokenRequest.method).toBe('POST');
    expectAddressedTo(accessTokenRequest, real.accessTokenUrl);
    const accessToken = readOAuth1Request(accessTokenRequest);
    expect(accessToken.placement).toBe(provider.parameterPlacement);
    expect(accessToken.oauth).toEqual({
      oauth_consumer_key: CLIENT_ID,
      oauth_token: `rt-${name}`,
      oauth_verifier: `verifier-${name}`,
      oauth_signature_method: provider.signatureMethod,
      oauth_nonce: expect.stringMatching(/^[A-Za-z0-9]{20,}$/),
      oauth_timestamp: expect.stringMatching(/^\d+$/),
      oauth_version: '1.0',
      oauth_signature: expect.any(String),
    });
    expectValidSignature(provider, accessToken, temporary.tokenSecret);
  });
});
