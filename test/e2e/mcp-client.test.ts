/**
 * The broker as an MCP client (issue 17, item 6), against a remote MCP server built with the SDK and
 * protected by a real oidc-provider with dynamic registration and resource indicators. From the
 * server's URL alone: the 401's `WWW-Authenticate` names the protected resource metadata (RFC 9728),
 * which names the authorization server, whose metadata (RFC 8414 / OIDC discovery) must offer PKCE
 * S256; the broker registers dynamically (RFC 7591; the server does not take client metadata
 * documents), once per issuer and through the broker's own operator route; `resource` (RFC 8707) rides on the authorization and the token request;
 * and the proxy then calls the MCP server with the connection's token.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { discoverMcpServer } from '../../src/mcp/discovery';
import { sendHttpRequest } from '../../src/oauth/http';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../support/mcp/protected-mcp-server';
import { completeConsent } from '../support/oidc/complete-consent';
import { startOidcProvider } from '../support/oidc/start-oidc-provider';
import { fingerprint, scanStorage } from './support/storage-scan';
import { withParam, without } from './support/urls';
import { CLIENT_KEY, OPERATOR_KEY, startConnection, startWorld, waitForStatus, World, type OidcHandle } from './support/world';

jest.setTimeout(120_000);

let mcp: ProtectedMcpServer;
let auth: OidcHandle;
let world: World;
let providersFile: string;
const INTROSPECTOR = { client_id: 'mcp-resource-server', client_secret: 'mcp-resource-server-secret' };

beforeAll(async () => {
  mcp = await startProtectedMcpServer();
  auth = await startOidcProvider({
    registration: true,
    resourceServers: { [mcp.url]: 'mcp:tools' },
    clients: [{ ...INTROSPECTOR, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: [], response_types: [] }],
  });
  mcp.protect({ issuer: auth.issuer, introspectionUrl: auth.url('/token/introspection'), clientId: INTROSPECTOR.client_id, clientSecret: INTROSPECTOR.client_secret, scopes: ['mcp:tools'] });
  // The operator adds the MCP server's definition to this file once the broker has registered.
  providersFile = path.join(mkdtempSync(path.join(tmpdir(), 'mcp-providers-')), 'providers.json');
  writeFileSync(providersFile, '{}');
  world = await startWorld({ extraSettings: { BROKER_PROVIDERS_FILE: providersFile } });
}, 120_000);

afterAll(async () => {
  await world?.stop();
  await auth?.stop();
  await mcp?.close();
});

function addMcpServer(body: Record<string, unknown>) {
  return world.broker.request('POST', '/api/ops/mcp-servers', { key: OPERATOR_KEY, body });
}

test('When given only the MCP server URL, then discovery finds its authorization server, which must offer S256', async () => {
  const discovered = await discoverMcpServer(mcp.url, sendHttpRequest);
  expect(discovered).toMatchObject({
    resource: mcp.url,
    issuer: auth.issuer,
    authorizationEndpoint: auth.url('/auth'),
    tokenEndpoint: auth.url('/token'),
    registrationEndpoint: auth.url('/reg'),
    scopes: ['mcp:tools'],
    clientIdMetadataDocumentSupported: false,
  });
  expect(discovered.issParameterSupported).toBe(true);
});

test('When an operator adds the MCP server, then the broker registers dynamically once per issuer and keeps the registration sealed', async () => {
  const first = await addMcpServer({ url: mcp.url, provider: 'mcp', displayName: 'Protected MCP server' });
  expect(first.status).toBe(200);
  expect(first.json).toMatchObject({ provider: 'mcp', issuer: auth.issuer, resource: mcp.url, registeredVia: 'dynamic_registration' });
  const definition = first.json.definition;
  expect(definition).toMatchObject({ protocol: 'oauth2', pkce: true, authorizationParams: { resource: mcp.url }, tokenParams: { resource: mcp.url } });
  // The server says it sends `iss` (RFC 9207), so the definition checks it on every authorization response.
  expect(definition).toMatchObject({ issuer: auth.issuer, authorizationResponseIssRequired: true });
  const again = await addMcpServer({ url: mcp.url, provider: 'mcp' });
  expect(again.json.definition.clientId).toBe(definition.clientId);
  const scan = await scanStorage(world.azurite.connectionString);
  expect(scan.fingerprints.has(fingerprint(definition.clientSecret))).toBe(false);
  expect((await world.broker.request('POST', '/api/ops/mcp-servers', { key: CLIENT_KEY, body: { url: mcp.url, provider: 'mcp' } })).status).toBe(403);

  writeFileSync(providersFile, JSON.stringify({ mcp: definition }));
  await world.broker.restart();
});

test('When a connection to the MCP server is made, then resource rides on both requests and the proxy calls the MCP server with its token', async () => {
  const started = await startConnection(world, { provider: 'mcp' });
  const authorizationUrl = new URL(started.authorizationUrl);
  expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
  const callback = await completeConsent(started.authorizationUrl, { account: 'carol', approve: true });
  expect(new URL(callback).searchParams.get('iss')).toBe(auth.issuer);
  for (const forged of [withParam(new URL(callback), 'iss', 'https://attacker.example'), without(new URL(callback), 'iss')]) {
    const refused = await world.broker.request('GET', forged);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('ISSUER_MISMATCH');
  }
  expect((await auth.tokenLog()).some((e) => e.grantType === 'authorization_code')).toBe(false);
  expect([200, 302]).toContain((await world.broker.request('GET', callback)).status);
  await waitForStatus(world, started.connectionId, 'connected');
  const exchange = (await auth.tokenLog()).find((e) => e.grantType === 'authorization_code' && e.outcome === 'ok');
  expect(exchange?.resource).toBe(mcp.url);

  const call = await world.broker.request('POST', `/api/connections/${started.connectionId}/proxy/mcp`, {
    key: CLIENT_KEY,
    headers: { accept: 'application/json, text/event-stream' },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
  });
  expect(call.status).toBe(200);
  expect(call.json.result.content[0].text).toBe('subject:carol');
  expect(mcp.calls.at(-1)).toEqual({ authorized: true, audience: mcp.url });
});

test('When the authorization server does not offer S256, or the metadata names another resource, then discovery refuses', async () => {
  const fake = await metadataServer((origin) => ({
    '/.well-known/oauth-protected-resource/mcp': { resource: `${origin}/mcp`, authorization_servers: [origin] },
    '/.well-known/oauth-authorization-server': { issuer: origin, authorization_endpoint: `${origin}/a`, token_endpoint: `${origin}/t` },
    '/.well-known/oauth-protected-resource/other': { resource: `${origin}/elsewhere`, authorization_servers: [origin] },
  }));
  try {
    await expect(discoverMcpServer(`${fake.origin}/mcp`, sendHttpRequest)).rejects.toThrow('code_challenge_methods_supported');
    await expect(discoverMcpServer(`${fake.origin}/other`, sendHttpRequest)).rejects.toThrow('names resource');
  } finally {
    await new Promise((resolve) => fake.server.close(resolve));
  }
});

test("When an authorization server fetches the broker's client metadata document, then its URL is the client_id and the callback its redirect URI", async () => {
  const answer = await world.broker.request('GET', '/api/mcp/client-metadata/mcp');
  expect(answer.status).toBe(200);
  expect(answer.json).toMatchObject({
    client_id: `${world.broker.url}/api/mcp/client-metadata/mcp`,
    redirect_uris: [`${world.broker.url}/api/callback/mcp`],
    token_endpoint_auth_method: 'none',
  });
});

async function metadataServer(documents: (origin: string) => Record<string, unknown>): Promise<{ origin: string; server: Server }> {
  let origin = '';
  const server = createServer((request, response) => {
    const document = documents(origin)[(request.url ?? '').split('?')[0]];
    if (request.method === 'GET' && document) response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, server };
}
