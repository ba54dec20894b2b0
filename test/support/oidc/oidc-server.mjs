// A real OAuth 2.0 / OpenID Connect authorization server (panva/oidc-provider) for tests, run as a
// child process because oidc-provider is ESM-only. Configured by one JSON argument (or OIDC_SERVER_CONFIG);
// prints {"port","issuer"} as one JSON line on stdout once listening.
//
// Besides the provider's own endpoints (/auth, /token, /token/revocation, /token/introspection,
// devInteractions at /interaction/:uid) it serves:
//   GET|POST|... /api/me, /api/echo[/*]  resource endpoints that accept only valid bearer tokens
//   GET /.well-known/openid-configuration  discovery (oidc-provider's own)
//   GET /__log                           {token:[…], revocation:[…], resource:[…]} request log (no secrets)
//   DELETE /__log                        clears the log
//   POST /__faults {token?:Fault, revocation?:Fault}  Fault = {status?, times?, hang?, reset?, afterAnswer?, retryAfter?, body?, delayMs?}
//     hang: never answer; reset: destroy the connection; afterAnswer: let the provider process the
//     request first (a refresh token really rotates), then hang or reset instead of sending the answer.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? process.env.OIDC_SERVER_CONFIG ?? '{}');
const {
  port = 0,
  clients = [],
  accessTokenTtlSeconds = 3600,
  refreshTokenTtlSeconds = 14 * 24 * 3600,
  rotateRefreshToken = true,
  scopes = ['openid', 'offline_access', 'read', 'write', 'profile', 'email'],
  // Open dynamic client registration (RFC 7591), as MCP authorization servers offer it.
  registration = false,
  // RFC 8707: tokens for these resource servers ({resource → scope}), audience-bound and opaque.
  resourceServers = undefined,
  // Token answers without expires_in, as some providers send them (lifetime from elsewhere).
  omitExpiresIn = false,
  // Access tokens as RFC 9068 JWTs (signed, with exp) for this resource, instead of opaque ones.
  jwtAccessTokenResource,
  // Authorization requests only by PAR (RFC 9126); metadata then says require_pushed_authorization_requests.
  requirePar = false,
  // DPoP proofs must carry a server nonce (RFC 9449 §8): the first proof is answered use_dpop_nonce.
  requireDpopNonce = false,
} = config;

const fingerprint = (value) => (typeof value === 'string' && value
  ? createHash('sha256').update(value).digest('hex').slice(0, 16)
  : undefined);

const log = { token: [], revocation: [], resource: [] };
const faults = {};
const hanging = new Set();

const server = createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;

const provider = new Provider(issuer, {
  clients,
  scopes,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    ...(registration ? { registration: { enabled: true } } : {}),
    ...(resourceServers
      ? {
          resourceIndicators: {
            enabled: true,
            defaultResource: (_ctx, _client, oneOf) => oneOf,
            useGrantedResource: () => true,
            getResourceServerInfo: (_ctx, resource) => {
              if (!(resource in resourceServers)) throw new errors.InvalidTarget();
              return { scope: resourceServers[resource], audience: resource, accessTokenFormat: 'opaque' };
            },
          },
        }
      : {}),
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: requirePar },
    dPoP: {
      enabled: true,
      ...(requireDpopNonce ? { nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true } : {}),
    },
    ...(jwtAccessTokenResource ? {
      resourceIndicators: {
        enabled: true,
        defaultResource: () => jwtAccessTokenResource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: scopes.join(' '), accessTokenFormat: 'jwt', accessTokenTTL: accessTokenTtlSeconds }),
      },
    } : {}),
  },
  // Profile and email claims in the ID Token itself, so the broker can name who connected.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  ttl: {
    AccessToken: accessTokenTtlSeconds,
    ClientCredentials: accessTokenTtlSeconds,
    RefreshToken: refreshTokenTtlSeconds,
    AuthorizationCode: 120,
    Interaction: 600,
    Session: 3600,
    Grant: refreshTokenTtlSeconds,
  },
  // Refresh tokens for every client allowed the grant, without requiring offline_access + prompt=consent.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  expiresWithSession: async () => false,
  rotateRefreshToken,
  cookies: { keys: ['test-cookie-signing-key'] },
  // Opaque tokens, no audience gating: the provider's own store answers for /api/*.
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, name: `Test user ${sub}`, email: `${sub}@users.example` }),
  }),
});
provider.proxy = false;

const ENDPOINT_BY_PATH = { '/token': 'token', '/token/revocation': 'revocation' };

// Koa middleware running before the provider's router: fault injection and the request log.
provider.use(async (ctx, next) => {
  const endpoint = ctx.method === 'POST' ? ENDPOINT_BY_PATH[ctx.path] : undefined;
  if (!endpoint) return next();

  const fault = faults[endpoint];
  if (fault && fault.times > 0 && fault.delayMs) {
    // A slow but correct answer: the request is handled normally after the delay.
    fault.times -= 1;
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    // A client that went away meanwhile (its host was killed) never had its request handled.
    if (ctx.req.socket.destroyed) {
      log[endpoint].push({ at: new Date().toISOString(), outcome: 'fault:abandoned-by-client' });
      ctx.respond = false;
      return undefined;
    }
    return next();
  }
  const lose = fault && fault.times > 0 && (fault.hang || fault.reset) ? fault : undefined;
  if (lose) {
    fault.times -= 1;
    if (lose.afterAnswer) await next();
    log[endpoint].push({
      at: new Date().toISOString(),
      outcome: `fault:${lose.hang ? 'hang' : 'reset'}${lose.afterAnswer ? '-after-answer' : ''}`,
      // What the provider did but the client never heard (a rotated refresh token, for example).
      ...(lose.afterAnswer ? { status: ctx.status, providerOutcome: ctx.body?.error ?? 'ok', ...tokenFields(ctx) } : {}),
    });
    ctx.respond = false;
    if (lose.reset) {
      ctx.req.socket.destroy();
      return undefined;
    }
    await new Promise((resolve) => { hanging.add(resolve); ctx.req.on('close', resolve); });
    ctx.req.socket.destroy();
    return undefined;
  }
  if (fault && fault.times > 0) {
    fault.times -= 1;
    log[endpoint].push({ at: new Date().toISOString(), outcome: `fault:${fault.status}` });
    ctx.status = fault.status ?? 500;
    if (fault.retryAfter !== undefined) ctx.set('Retry-After', String(fault.retryAfter));
    ctx.type = fault.contentType ?? 'application/json';
    ctx.body = fault.body ?? JSON.stringify({ error: 'server_error', error_description: 'injected fault' });
    return undefined;
  }

  await next();
  const params = ctx.oidc?.params ?? {};
  const body = typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {};
  const entry = {
    at: new Date().toISOString(),
    clientId: ctx.oidc?.client?.clientId,
    status: ctx.status,
    outcome: body.error ?? 'ok',
  };
  if (endpoint === 'token') {
    if (omitExpiresIn && typeof ctx.body === 'object' && ctx.body !== null) delete ctx.body.expires_in;
    Object.assign(entry, tokenFields(ctx));
  } else {
    entry.tokenFingerprint = fingerprint(params.token);
    entry.tokenTypeHint = params.token_type_hint;
  }
  log[endpoint].push(entry);
  return undefined;
});

function tokenFields(ctx) {
  const params = ctx.oidc?.params ?? {};
  const body = typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {};
  return {
    clientId: ctx.oidc?.client?.clientId,
    grantType: params.grant_type,
    refreshTokenFingerprint: fingerprint(params.refresh_token),
    issuedRefreshTokenFingerprint: fingerprint(body.refresh_token),
    accessTokenFingerprint: fingerprint(body.access_token),
    // Codes and verifiers too, so storage scans can prove none of them was kept in clear.
    codeFingerprint: fingerprint(params.code),
    codeVerifierFingerprint: fingerprint(params.code_verifier),
    deviceCodeFingerprint: fingerprint(params.device_code),
    idTokenFingerprint: fingerprint(body.id_token),
    resource: params.resource,
  };
}

provider.on('server_error', (_ctx, error) => { process.stderr.write(`oidc server_error: ${error.stack}\n`); });

const providerHandler = provider.callback();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res, status, value, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(value));
}

async function findValidAccessToken(req) {
  const match = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  // Client credentials tokens (no end user, no grant) are a model of their own.
  const token = (await provider.AccessToken.find(match[1])) ?? (await provider.ClientCredentials.find(match[1]));
  if (!token || token.isExpired) return undefined;
  // A revoked refresh token revokes its grant; tokens of a revoked grant must stop working too.
  const grant = token.grantId ? await provider.Grant.find(token.grantId) : undefined;
  if (token.grantId && !grant) return undefined;
  return token;
}

async function handleResource(req, res, url) {
  const body = await readBody(req);
  let token = await findValidAccessToken(req);
  // A one-shot "token rejected" fault: resource servers may reject a token before its expiry.
  const fault = faults.resource;
  if (token && fault && fault.times > 0) {
    fault.times -= 1;
    token = undefined;
  }
  log.resource.push({
    at: new Date().toISOString(), method: req.method, path: url.pathname, authorized: Boolean(token),
    tokenFingerprint: fingerprint(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1]),
  });
  if (!token) {
    sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return;
  }
  if (url.pathname === '/api/me') {
    sendJson(res, 200, { sub: token.accountId, clientId: token.clientId, scope: token.scope ?? '', method: req.method });
    return;
  }
  // `?upstream-headers=1` makes the echo answer with a cookie and a header in the broker's own
  // namespace, which the proxy must not hand back to its caller.
  const upstreamHeaders = url.searchParams.has('upstream-headers')
    ? { 'set-cookie': ['provider-session=s1; Path=/; HttpOnly'], 'x-broker-error': 'SPOOFED_BY_PROVIDER', 'x-provider-note': 'kept' }
    : {};
  sendJson(res, 200, {
    method: req.method,
    path: url.pathname,
    rawPath: req.url.split('?')[0],
    query: url.search,
    headers: req.headers,
    body,
    sub: token.accountId,
  }, upstreamHeaders);
}

async function handleControl(req, res, url) {
  if (url.pathname === '/__log' && req.method === 'GET') {
    sendJson(res, 200, log);
  } else if (url.pathname === '/__log' && req.method === 'DELETE') {
    for (const list of Object.values(log)) list.length = 0;
    sendJson(res, 200, {});
  } else if (url.pathname === '/__faults' && req.method === 'POST') {
    const requested = JSON.parse((await readBody(req)) || '{}');
    for (const endpoint of ['token', 'revocation', 'resource']) {
      if (requested[endpoint] === null) delete faults[endpoint];
      else if (requested[endpoint]) faults[endpoint] = { times: 1, ...requested[endpoint] };
    }
    sendJson(res, 200, faults);
  } else {
    sendJson(res, 404, { error: 'not_found' });
  }
}

server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  let handled;
  if (url.pathname === '/api/me' || url.pathname === '/api/echo' || url.pathname.startsWith('/api/echo/')) {
    handled = handleResource(req, res, url);
  } else if (url.pathname.startsWith('/__')) {
    handled = handleControl(req, res, url);
  } else {
    providerHandler(req, res);
    return;
  }
  handled.catch((error) => {
    process.stderr.write(`oidc test server error: ${error.stack}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  });
});

function shutdown() {
  for (const release of hanging) release();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

process.stdout.write(`${JSON.stringify({ port: actualPort, issuer })}\n`);
