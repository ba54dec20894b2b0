/**
 * The bad-input catalogue: every route, fed forged, replayed, expired, malformed, oversized,
 * duplicated, foreign or hostile input. Each row states the request, the expected HTTP status and
 * stable error code (JSON `{"error":{"code","message"}}`, or an HTML page carrying the code on the
 * callback route), and that the request changed nothing: both clients' connection lists (status and
 * times) and every provider request log are the same before and after.
 *
 * One world for all rows. Its authorization window is short so one connection can expire during
 * set-up; rows that need a connection still waiting for its callback make their own and revoke it
 * afterwards, well within the window.
 */
import type { HttpAnswer } from './support/broker-host';
import { eventually } from './support/broker-host';
import { oversizedStartBody, rawRequest, snapshotWorld } from './support/faults';
import { CLIENT_KEY, consent, OPERATOR_KEY, OTHER_CLIENT_KEY, RETURN_URL, startConnection, startWorld, waitForStatus, World } from './support/world';
import { withParam, without } from './support/urls';

jest.setTimeout(120_000);

const AUTHORIZATION_WINDOW_SECONDS = 12;

let world: World;

/** Connections every row may use, made once. */
interface Fixture {
  /** app1, oidc, connected; `usedCallback` is the callback that connected it. */
  connected: string;
  usedCallback: string;
  /** app1, legacy (OAuth 1.0a), connected. */
  legacy: string;
  /** app2, oidc, connected. */
  foreign: string;
  /** app1, oidc, revoked. */
  revoked: string;
  /** app1, oidc, expired (no callback in time); `expiredCallback` is its consented callback. */
  expired: string;
  expiredCallback: string;
  /** app1, oidc, connected through a second attempt; `supersededCallback` belongs to the first. */
  supersededCallback: string;
}

/** A connection still waiting for its callback, made for one row. */
interface Waiting {
  connectionId: string;
  callback: URL;
}

let fx: Fixture;

async function connectWith(key: string, provider: string): Promise<{ connectionId: string; callback: string }> {
  const started = await startConnection(world, { provider }, key);
  const callback = await consent(world, started.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  if (answer.status !== 200) throw new Error(`callback answered ${answer.status}`);
  await eventually(async () => {
    const view = await world.broker.request('GET', `/api/connections/${started.connectionId}`, { key });
    return view.json?.status === 'connected' ? true : undefined;
  });
  return { connectionId: started.connectionId, callback };
}

beforeAll(async () => {
  world = await startWorld({
    authorizationTimeoutSeconds: AUTHORIZATION_WINDOW_SECONDS,
    // The test provider sends `iss` (RFC 9207): declared, so mix-ups can be refused.
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROVIDERS: JSON.stringify({ ...providers, oidc: { ...providers.oidc, issuer: new URL(String(providers.oidc.authorizationUrl)).origin, authorizationResponseIssRequired: true } }),
    }),
  });
  // First, so its window closes while the others are made.
  const expiring = await startConnection(world, { provider: 'oidc' });
  const expiredCallback = await consent(world, expiring.authorizationUrl);

  const connected = await connectWith(CLIENT_KEY, 'oidc');
  const legacy = await connectWith(CLIENT_KEY, 'legacy');
  const foreign = await connectWith(OTHER_CLIENT_KEY, 'oidc');
  const revoked = await connectWith(CLIENT_KEY, 'oidc');
  expect((await world.broker.request('DELETE', `/api/connections/${revoked.connectionId}`, { key: CLIENT_KEY })).status).toBe(204);
  await waitForStatus(world, revoked.connectionId, 'revoked');

  const superseded = await startConnection(world, { provider: 'oidc' });
  const supersededCallback = await consent(world, superseded.authorizationUrl);
  const second = await world.broker.request('POST', `/api/connections/${superseded.connectionId}/reauthorize`, { key: CLIENT_KEY });
  expect(second.status).toBe(200);
  expect((await world.broker.request('GET', await consent(world, second.json.authorizationUrl))).status).toBe(200);
  await waitForStatus(world, superseded.connectionId, 'connected');

  await waitForStatus(world, expiring.connectionId, 'expired', (AUTHORIZATION_WINDOW_SECONDS + 20) * 1000);
  fx = {
    connected: connected.connectionId,
    usedCallback: connected.callback,
    legacy: legacy.connectionId,
    foreign: foreign.connectionId,
    revoked: revoked.connectionId,
    expired: expiring.connectionId,
    expiredCallback,
    supersededCallback,
  };
});
afterAll(async () => {
  await world?.stop();
});

async function waitingConnection(provider: 'oidc' | 'legacy'): Promise<Waiting> {
  const started = await startConnection(world, { provider });
  return { connectionId: started.connectionId, callback: new URL(await consent(world, started.authorizationUrl)) };
}

const api = (method: string, route: string, options: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
  world.broker.request(method, route, options);
const start = (body: unknown, key = CLIENT_KEY) => api('POST', '/api/connections', { key, body });
const startReturningTo = (returnTo: string) => start({ provider: 'oidc', returnTo });
const proxy = (connectionId: string, rawTail: string) => rawRequest(world, 'GET', `/api/connections/${connectionId}/proxy/${rawTail}`, { authorization: `Bearer ${CLIENT_KEY}` });

interface Row {
  name: string;
  /** A connection waiting for its callback, made before the "before" snapshot and revoked after the row. */
  waiting?: 'oidc' | 'legacy';
  send: (w: Waiting) => Promise<HttpAnswer>;
  status: number;
  code: string;
  /** Extra checks on the answer. */
  also?: (answer: HttpAnswer) => void;
}

const noWaiting = undefined as unknown as Waiting;

const rows: Row[] = [
  // POST /connections: malformed bodies
  { name: 'POST /connections with a body that is not JSON', send: () => start('{"provider": oidc'), status: 400, code: 'INVALID_JSON' },
  { name: 'POST /connections with an empty body', send: () => api('POST', '/api/connections', { key: CLIENT_KEY, headers: { 'content-type': 'application/json' } }), status: 400, code: 'INVALID_JSON' },
  { name: 'POST /connections with a JSON array', send: () => start([{ provider: 'oidc' }]), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a JSON string', send: () => start('"oidc"'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with JSON null', send: () => start('null'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections without provider', send: () => start({ scopes: ['read'] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with provider of the wrong type', send: () => start({ provider: 42 }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an unknown field', send: () => start({ provider: 'oidc', redirectUri: 'http://evil.example/' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with scopes as a string', send: () => start({ provider: 'oidc', scopes: 'openid read' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a scope holding a space and a quote', send: () => start({ provider: 'oidc', scopes: ['read "write'] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with metadata as an array', send: () => start({ provider: 'oidc', metadata: ['a'] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a control character in endUserId', send: () => start({ provider: 'oidc', endUserId: 'alice\u0000' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a connectionId holding "/"', send: () => start({ provider: 'oidc', connectionId: 'a/../b' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a body over 64 KB', send: () => start(oversizedStartBody(70 * 1024)), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  {
    name: 'POST /connections with a body over 64 KB sent chunked (no Content-Length)',
    send: () => rawRequest(world, 'POST', '/api/connections', { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' }, oversizedStartBody(70 * 1024)),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  // POST /connections: unknown provider, taken ids
  { name: 'POST /connections for an unknown provider', send: () => start({ provider: 'nosuchprovider' }), status: 400, code: 'UNKNOWN_PROVIDER' },
  { name: 'POST /connections reusing one of its own connection ids', send: () => start({ provider: 'oidc', connectionId: fx.connected }), status: 409, code: 'CONNECTION_EXISTS' },
  // (Another client's id is no longer taken: ids are unique per client, see tenancy-storage.test.ts.)
  { name: 'POST /connections reusing one of its own revoked connection ids', send: () => start({ provider: 'oidc', connectionId: fx.revoked }), status: 409, code: 'CONNECTION_EXISTS' },
  // POST /connections: grants (client credentials needs the provider's consent and has no browser round trip)
  { name: 'POST /connections with an unknown grant', send: () => start({ provider: 'oidc', grant: 'password' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with grant client_credentials for a provider that does not allow it', send: () => start({ provider: 'oidc', grant: 'client_credentials' }), status: 400, code: 'GRANT_NOT_ALLOWED' },
  { name: 'POST /connections with grant client_credentials for an OAuth 1.0a provider', send: () => start({ provider: 'legacy', grant: 'client_credentials' }), status: 400, code: 'GRANT_NOT_ALLOWED' },
  { name: 'POST /connections with grant client_credentials and a returnTo', send: () => start({ provider: 'oidc', grant: 'client_credentials', returnTo: RETURN_URL }), status: 400, code: 'INVALID_REQUEST', also: (a) => expect(a.json.error.message).toContain('returnTo') },
  {
    name: 'POST /connections with grant client_credentials and a bindingChallenge',
    send: () => start({ provider: 'oidc', grant: 'client_credentials', bindingChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }),
    status: 400,
    code: 'INVALID_REQUEST',
    also: (a) => expect(a.json.error.message).toContain('bindingChallenge'),
  },
  // POST /connections: open redirects and header injection through returnTo
  { name: 'returnTo on another origin', send: () => startReturningTo('http://evil.example/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo scheme-relative //evil', send: () => startReturningTo('//evil.example/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo javascript:', send: () => startReturningTo('javascript:alert(1)//http://127.0.0.1:9/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with the allowed host as userinfo (http://127.0.0.1:9@evil/)', send: () => startReturningTo('http://127.0.0.1:9@evil.example/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with userinfo before the allowed host', send: () => startReturningTo('http://evil.example@127.0.0.1:9/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with a backslash before "@"', send: () => startReturningTo('http://127.0.0.1:9\\@evil.example/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo climbing out of the allowed path with ..', send: () => startReturningTo('http://127.0.0.1:9/done/../admin'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with a shorter path than the allowed prefix', send: () => startReturningTo('http://127.0.0.1:9/don'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo on another port of the allowed host', send: () => startReturningTo('http://127.0.0.1:90/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with https instead of http', send: () => startReturningTo(RETURN_URL.replace('http:', 'https:')), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'returnTo with CR LF (header injection into the redirect)', send: () => startReturningTo(`${RETURN_URL}\r\nSet-Cookie: session=evil`), status: 400, code: 'INVALID_REQUEST' },
  // Keys
  { name: 'POST /connections without a key', send: () => api('POST', '/api/connections', { body: { provider: 'oidc' } }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'POST /connections with the operator key', send: () => start({ provider: 'oidc' }, OPERATOR_KEY), status: 401, code: 'UNAUTHORIZED' },
  { name: 'POST /connections with the key in a Basic header', send: () => api('POST', '/api/connections', { body: { provider: 'oidc' }, headers: { authorization: `Basic ${Buffer.from(`app1:${CLIENT_KEY}`).toString('base64')}` } }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET /connections with a wrong x-api-key', send: () => api('GET', '/api/connections', { headers: { 'x-api-key': `${CLIENT_KEY}x` } }), status: 401, code: 'UNAUTHORIZED' },
  // GET /connections: query
  { name: 'GET /connections with an unknown query parameter', send: () => api('GET', '/api/connections?clientId=app2', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with a duplicated status parameter', send: () => api('GET', '/api/connections?status=connected&status=revoked', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with an unknown status', send: () => api('GET', '/api/connections?status=hacked', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with top=0', send: () => api('GET', '/api/connections?top=0', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  // GET /connections/{id}
  { name: 'GET /connections/{id} for an unknown connection', send: () => api('GET', '/api/connections/no-such-connection', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: "GET /connections/{id} for another client's connection", send: () => api('GET', `/api/connections/${fx.foreign}`, { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'GET /connections/{id} with an id outside the id alphabet', send: () => api('GET', '/api/connections/a.b', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  // /token
  { name: "GET …/token of another client's connection", send: () => api('GET', `/api/connections/${fx.foreign}/token`, { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'GET …/token of an expired connection', send: () => api('GET', `/api/connections/${fx.expired}/token`, { key: CLIENT_KEY }), status: 409, code: 'CONNECTION_NOT_CONNECTED' },
  { name: 'GET …/token of a revoked connection', send: () => api('GET', `/api/connections/${fx.revoked}/token`, { key: CLIENT_KEY }), status: 410, code: 'CONNECTION_REVOKED' },
  { name: 'GET …/token without a key', send: () => api('GET', `/api/connections/${fx.connected}/token`), status: 401, code: 'UNAUTHORIZED' },
  // /refresh
  { name: "POST …/refresh of another client's connection", send: () => api('POST', `/api/connections/${fx.foreign}/refresh`, { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'POST …/refresh of an OAuth 1.0a connection (nothing to refresh)', send: () => api('POST', `/api/connections/${fx.legacy}/refresh`, { key: CLIENT_KEY }), status: 409, code: 'CONNECTION_NOT_CONNECTED' },
  { name: 'POST …/refresh of an expired connection', send: () => api('POST', `/api/connections/${fx.expired}/refresh`, { key: CLIENT_KEY }), status: 409, code: 'CONNECTION_NOT_CONNECTED' },
  { name: 'POST …/refresh of a revoked connection', send: () => api('POST', `/api/connections/${fx.revoked}/refresh`, { key: CLIENT_KEY }), status: 410, code: 'CONNECTION_REVOKED' },
  // /reauthorize
  { name: "POST …/reauthorize of another client's connection", send: () => api('POST', `/api/connections/${fx.foreign}/reauthorize`, { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'POST …/reauthorize of an unknown connection', send: () => api('POST', '/api/connections/no-such-connection/reauthorize', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'POST …/reauthorize of a revoked connection', send: () => api('POST', `/api/connections/${fx.revoked}/reauthorize`, { key: CLIENT_KEY }), status: 410, code: 'CONNECTION_REVOKED' },
  // DELETE
  { name: "DELETE another client's connection", send: () => api('DELETE', `/api/connections/${fx.foreign}`, { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'DELETE an unknown connection', send: () => api('DELETE', '/api/connections/no-such-connection', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'DELETE without a key', send: () => api('DELETE', `/api/connections/${fx.connected}`), status: 401, code: 'UNAUTHORIZED' },
  // Proxy escapes, sent raw (fetch would resolve them first). Raw and %2e dot segments and raw
  // backslashes are canonicalised by the front end: see the separate test below.
  { name: 'proxy path with double-encoded dots %252e%252e', send: () => proxy(fx.connected, 'echo/%252e%252e/x'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with an encoded slash', send: () => proxy(fx.connected, 'echo%2F..%2Ftoken'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path starting with // (another host)', send: () => proxy(fx.connected, '/evil.example/steal'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path carrying a scheme', send: () => proxy(fx.connected, 'echo/http://evil.example/'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with encoded CR LF (header injection upstream)', send: () => proxy(fx.connected, 'echo%0d%0aX-Injected:%201'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: "proxy through another client's connection", send: () => proxy(fx.foreign, 'me'), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'proxy through a revoked connection', send: () => proxy(fx.revoked, 'me'), status: 410, code: 'CONNECTION_REVOKED' },
  { name: 'proxy without a key', send: () => rawRequest(world, 'GET', `/api/connections/${fx.connected}/proxy/me`), status: 401, code: 'UNAUTHORIZED' },
  // /callback
  { name: 'callback with a forged state', waiting: 'oidc', send: (w) => api('GET', withParam(w.callback, 'state', 'forged-state-value-0123456789abcdef')), status: 400, code: 'STATE_INVALID' },
  {
    name: 'callback with CR LF in the state (header injection into the page)',
    send: () => api('GET', `/api/callback/oidc?code=abc&state=x%0d%0aSet-Cookie:%20session=evil`),
    status: 400,
    code: 'STATE_INVALID',
    also: (answer) => expect(answer.headers.get('set-cookie')).toBeNull(),
  },
  { name: 'callback without state', waiting: 'oidc', send: (w) => api('GET', without(w.callback, 'state')), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with a known state and no code', waiting: 'oidc', send: (w) => api('GET', without(w.callback, 'code')), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with the code parameter twice', waiting: 'oidc', send: (w) => api('GET', `${w.callback}&code=again`), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with the state parameter twice', waiting: 'oidc', send: (w) => api('GET', `${w.callback}&state=again`), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with no parameters at all', send: () => api('GET', '/api/callback/oidc'), status: 400, code: 'CALLBACK_INVALID' },
  { name: "callback with a state sent to another provider's callback", waiting: 'oidc', send: (w) => api('GET', w.callback.toString().replace('/callback/oidc?', '/callback/oidcpost?')), status: 400, code: 'STATE_INVALID' },
  { name: 'callback replaying a used state with another code', send: () => api('GET', withParam(new URL(fx.usedCallback), 'code', 'another-code')), status: 400, code: 'STATE_INVALID' },
  { name: 'callback with an expired state', send: () => api('GET', fx.expiredCallback), status: 400, code: 'STATE_EXPIRED' },
  { name: 'callback with the state of a superseded attempt', send: () => api('GET', fx.supersededCallback), status: 400, code: 'STATE_INVALID' },
  { name: 'callback for an unknown provider', waiting: 'oidc', send: (w) => api('GET', w.callback.toString().replace('/callback/oidc?', '/callback/nosuchprovider?')), status: 400, code: 'UNKNOWN_PROVIDER' },
  { name: 'OAuth 1.0a callback with a mismatched oauth_token', waiting: 'legacy', send: (w) => api('GET', withParam(w.callback, 'oauth_token', 'not-the-request-token')), status: 400, code: 'OAUTH_TOKEN_MISMATCH' },
  { name: 'OAuth 1.0a callback without oauth_verifier', waiting: 'legacy', send: (w) => api('GET', without(w.callback, 'oauth_verifier')), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'OAuth 1.0a callback with oauth_token twice', waiting: 'legacy', send: (w) => api('GET', `${w.callback}&oauth_token=again`), status: 400, code: 'CALLBACK_INVALID' },
  // /providers
  { name: 'GET /providers without a key', send: () => api('GET', '/api/providers'), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET /providers with the operator key', send: () => api('GET', '/api/providers', { key: OPERATOR_KEY }), status: 401, code: 'UNAUTHORIZED' },
  // /ops
  { name: 'GET /ops/connections/{id} with a client key', send: () => api('GET', `/api/ops/connections/${fx.connected}`, { key: CLIENT_KEY }), status: 403, code: 'FORBIDDEN' },
  { name: 'POST /ops/connections/{id}/terminate with a client key', send: () => api('POST', `/api/ops/connections/${fx.connected}/terminate`, { key: CLIENT_KEY }), status: 403, code: 'FORBIDDEN' },
  { name: 'DELETE /ops/connections/{id}/history with a client key', send: () => api('DELETE', `/api/ops/connections/${fx.connected}/history`, { key: CLIENT_KEY }), status: 403, code: 'FORBIDDEN' },
  { name: 'DELETE /ops/connections/{id} (revoke) with a client key', send: () => api('DELETE', `/api/ops/connections/${fx.connected}`, { key: CLIENT_KEY }), status: 403, code: 'FORBIDDEN' },
  { name: 'GET /ops/connections without a key', send: () => api('GET', '/api/ops/connections'), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET /ops/connections/{id} with a wrong operator key', send: () => api('GET', `/api/ops/connections/${fx.connected}`, { key: `${OPERATOR_KEY}x` }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET /ops/connections/{id} for an unknown connection', send: () => api('GET', '/api/ops/connections/no-such-connection', { key: OPERATOR_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'GET /ops/connections with clientId twice', send: () => api('GET', '/api/ops/connections?clientId=app1&clientId=app2', { key: OPERATOR_KEY }), status: 400, code: 'INVALID_REQUEST' },

  // --- Added with issue 14 ---
  // POST /connections: more malformed fields
  { name: 'POST /connections with provider as an empty string', send: () => start({ provider: '' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with provider as null', send: () => start({ provider: null }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with 101 scopes', send: () => start({ provider: 'oidc', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a scope of 257 characters', send: () => start({ provider: 'oidc', scopes: ['s'.repeat(257)] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an empty scope', send: () => start({ provider: 'oidc', scopes: [''] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a scope that is a number', send: () => start({ provider: 'oidc', scopes: [7] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a scope holding a backslash', send: () => start({ provider: 'oidc', scopes: ['read\\write'] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a scope holding a tab', send: () => start({ provider: 'oidc', scopes: ['read\twrite'] }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an empty endUserId', send: () => start({ provider: 'oidc', endUserId: '' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an endUserId of 257 characters', send: () => start({ provider: 'oidc', endUserId: 'u'.repeat(257) }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with endUserId as a number', send: () => start({ provider: 'oidc', endUserId: 42 }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with metadata over 4 KB', send: () => start({ provider: 'oidc', metadata: { pad: 'm'.repeat(5000) } }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with metadata as null', send: () => start({ provider: 'oidc', metadata: null }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with metadata as a string', send: () => start({ provider: 'oidc', metadata: 'note' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a connectionId of 129 characters', send: () => start({ provider: 'oidc', connectionId: 'c'.repeat(129) }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an empty connectionId', send: () => start({ provider: 'oidc', connectionId: '' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with connectionId as a number', send: () => start({ provider: 'oidc', connectionId: 123 }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a connectionId holding a dot', send: () => start({ provider: 'oidc', connectionId: 'a.b' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a connectionId holding a non-ASCII letter', send: () => start({ provider: 'oidc', connectionId: 'caf\u00e9' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with an empty returnTo', send: () => start({ provider: 'oidc', returnTo: '' }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with returnTo as a number', send: () => start({ provider: 'oidc', returnTo: 42 }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with a relative returnTo', send: () => startReturningTo('/done'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'POST /connections with a data: returnTo', send: () => startReturningTo('data:text/html,<script>alert(1)</script>'), status: 400, code: 'RETURN_URL_NOT_ALLOWED' },
  { name: 'POST /connections with a JSON number body', send: () => start('42'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'POST /connections with trailing garbage after the JSON', send: () => start('{"provider":"oidc"} x'), status: 400, code: 'INVALID_JSON' },
  { name: 'POST /connections with a declared Content-Length over 64 KB', send: () => start(oversizedStartBody(65 * 1024 + 1)), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  // Keys on the other routes
  { name: 'POST /connections with an empty Bearer key', send: () => api('POST', '/api/connections', { body: { provider: 'oidc' }, headers: { authorization: 'Bearer ' } }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET /connections/{id} with a key that differs by case', send: () => api('GET', `/api/connections/${fx.connected}`, { key: CLIENT_KEY.toUpperCase() }), status: 401, code: 'UNAUTHORIZED' },
  { name: 'POST …/refresh without a key', send: () => api('POST', `/api/connections/${fx.connected}/refresh`), status: 401, code: 'UNAUTHORIZED' },
  { name: 'POST …/reauthorize without a key', send: () => api('POST', `/api/connections/${fx.connected}/reauthorize`), status: 401, code: 'UNAUTHORIZED' },
  { name: 'GET …/token with the operator key', send: () => api('GET', `/api/connections/${fx.connected}/token`, { key: OPERATOR_KEY }), status: 401, code: 'UNAUTHORIZED' },
  // GET /connections: query
  { name: 'GET /connections with top=1001', send: () => api('GET', '/api/connections?top=1001', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with top that is not a number', send: () => api('GET', '/api/connections?top=ten', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with a fractional top', send: () => api('GET', '/api/connections?top=2.5', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  { name: 'GET /connections with the provider parameter twice', send: () => api('GET', '/api/connections?provider=oidc&provider=legacy', { key: CLIENT_KEY }), status: 400, code: 'INVALID_REQUEST' },
  // Unknown and malformed ids on each connection route
  { name: 'GET …/token of an unknown connection', send: () => api('GET', '/api/connections/no-such-connection/token', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'GET …/token with an id outside the id alphabet', send: () => api('GET', '/api/connections/a.b/token', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'POST …/refresh of an unknown connection', send: () => api('POST', '/api/connections/no-such-connection/refresh', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'POST …/reauthorize with an id outside the id alphabet', send: () => api('POST', '/api/connections/a.b/reauthorize', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'DELETE with an id outside the id alphabet', send: () => api('DELETE', '/api/connections/a.b', { key: CLIENT_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'proxy through an unknown connection', send: () => proxy('no-such-connection', 'me'), status: 404, code: 'CONNECTION_NOT_FOUND' },
  { name: 'proxy through an expired connection', send: () => proxy(fx.expired, 'me'), status: 409, code: 'CONNECTION_NOT_CONNECTED' },
  // Proxy: segments lenient upstream servers read as ".."
  { name: 'proxy path with "..%20" (trailing blank trimmed upstream)', send: () => proxy(fx.connected, 'echo/a/..%20/me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with "..%C2%A0" (no-break space)', send: () => proxy(fx.connected, 'echo/a/..%C2%A0/me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with "..::$DATA" (NTFS stream)', send: () => proxy(fx.connected, 'echo/a/..::$DATA/me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with "%u002e%u002e" (IIS)', send: () => proxy(fx.connected, 'echo/a/%u002e%u002e/me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with "..;x" (servlet path parameter)', send: () => proxy(fx.connected, 'echo/a/..;x/me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with "..." (trimmed by file-system servers)', send: () => proxy(fx.connected, 'echo/a/.../me'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with an encoded backslash', send: () => proxy(fx.connected, 'echo%5C..%5Cme'), status: 400, code: 'PROXY_PATH_REJECTED' },
  { name: 'proxy path with an encoded NUL', send: () => proxy(fx.connected, 'echo/a%00b'), status: 400, code: 'PROXY_PATH_REJECTED' },
  // /callback: mix-up (RFC 9207) and more malformed responses
  { name: 'callback naming another issuer (mix-up)', waiting: 'oidc', send: (w) => api('GET', withParam(w.callback, 'iss', 'https://attacker.example')), status: 400, code: 'ISSUER_MISMATCH' },
  { name: 'callback without iss from a provider that always sends it', waiting: 'oidc', send: (w) => api('GET', without(w.callback, 'iss')), status: 400, code: 'ISSUER_MISMATCH' },
  { name: 'callback with iss differing only by a trailing slash', waiting: 'oidc', send: (w) => api('GET', withParam(w.callback, 'iss', `${world.oidc.issuer}/`)), status: 400, code: 'ISSUER_MISMATCH' },
  { name: 'callback with the iss parameter twice', waiting: 'oidc', send: (w) => api('GET', `${w.callback}&iss=${encodeURIComponent(world.oidc.issuer)}`), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with an empty code', waiting: 'oidc', send: (w) => api('GET', withParam(w.callback, 'code', '')), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'callback with both code and error', waiting: 'oidc', send: (w) => api('GET', `${w.callback}&error=access_denied`), status: 400, code: 'CALLBACK_INVALID' },
  { name: 'OAuth 1.0a callback with no parameters at all', send: () => api('GET', '/api/callback/legacy'), status: 400, code: 'CALLBACK_INVALID' },
  // /ops
  { name: "GET /ops/connections/{id} with the other client's key", send: () => api('GET', `/api/ops/connections/${fx.foreign}`, { key: OTHER_CLIENT_KEY }), status: 403, code: 'FORBIDDEN' },
  { name: 'POST /ops/connections/{id}/terminate for an unknown connection', send: () => api('POST', '/api/ops/connections/no-such-connection/terminate', { key: OPERATOR_KEY }), status: 404, code: 'CONNECTION_NOT_FOUND' },
];

test.each(rows)('$name → $status $code, and nothing changes', async (row) => {
  const waiting = row.waiting ? await waitingConnection(row.waiting) : noWaiting;
  try {
    const before = await snapshotWorld(world);
    const answer = await row.send(waiting);

    expect(answer.status).toBe(row.status);
    if (answer.headers.get('content-type')?.includes('text/html')) {
      expect(answer.text).toContain(row.code);
    } else {
      expect(answer.headers.get('content-type')).toMatch(/application\/json/);
      expect(answer.json.error).toMatchObject({ code: row.code, message: expect.any(String) });
    }
    row.also?.(answer);
    expect(await snapshotWorld(world)).toEqual(before);
  } finally {
    if (row.waiting) await api('DELETE', `/api/connections/${waiting.connectionId}`, { key: CLIENT_KEY });
  }
});

test('the catalogue covers at least 127 cases and every route', () => {
  expect(rows.length).toBeGreaterThanOrEqual(127);
  const names = rows.map((r) => r.name).join('\n');
  for (const route of ['POST /connections', 'GET /connections', 'GET /connections/{id}', '/token', '/refresh', '/reauthorize', 'DELETE', 'proxy', 'callback', '/providers', '/ops/']) {
    expect(names).toContain(route);
  }
});

test('callback pages for refused callbacks are HTML and carry the code', async () => {
  const answer = await api('GET', '/api/callback/oidc?code=abc&state=forged-state-value-0123456789abcdef');
  expect(answer.status).toBe(400);
  expect(answer.headers.get('content-type')).toMatch(/text\/html/);
  expect(answer.text).toContain('STATE_INVALID');
});

/*
 * The front end (App Service's, and the local host's like it) routes on the canonical path and hands
 * the target as sent to the function in X-WAWS-Unencoded-URL, which is what the proxy's policy
 * checks: a dot segment or backslash that stays on the proxy route is refused with nothing sent.
 */
test.each([
  ['raw .. segments', 'echo/a/b/../../me'],
  ['a raw . segment', 'echo/./me'],
  ['%2e%2e segments', 'echo/a/b/%2e%2e/%2E%2E/me'],
  ['raw backslashes', 'echo\\a\\..\\me'],
])('a proxy path with %s is refused with PROXY_PATH_REJECTED and nothing is sent', async (_name, tail) => {
  const logStart = (await world.oidc.resourceLog()).length;
  const answer = await proxy(fx.connected, tail);
  expect(answer.status).toBe(400);
  expect(answer.json?.error?.code).toBe('PROXY_PATH_REJECTED');
  expect((await world.oidc.resourceLog()).slice(logStart)).toEqual([]);
});

test('a .. path climbing out of /proxy/ lands on another broker route, never at the provider', async () => {
  const logStart = (await world.oidc.resourceLog()).length;
  const answer = await proxy(fx.connected, 'echo/../../../../providers');
  expect(answer.status).toBeLessThan(500);
  expect((await world.oidc.resourceLog()).slice(logStart)).toEqual([]);
});
