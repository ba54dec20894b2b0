/**
 * The broker as an MCP client (issue 17, item 6), against a remote MCP server built with the SDK and
 * protected by a real oidc-provider with dynamic registration and resource indicators. From the
 * server's URL alone: the 401's `WWW-Authenticate` names the protected resource metadata (RFC 9728),
 * which names the authorization server, whose metadata (RFC 8414 / OIDC discovery) must offer PKCE
 * S256; the broker registers dynamically (RFC 7591; the server does not take client metadata
 * documents), once per issuer; `resource` (RFC 8707) rides on the authorization and the token request;
 * and the proxy then calls the MCP server with the connection's token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TableClient } from '@azure/data-tables';
import { createKeyring } from '../../src/crypto/envelope';
import { discoverMcpServer } from '../../src/mcp/discovery';
import { mcpProviderDefinition } from '../../src/mcp/provider-definition';
import { registerClient, type ClientRegistration, type RegistrationStore } from '../../src/mcp/registration';
import { sendHttpRequest } from '../../src/oauth/http';
import { McpRegistrationsRepository } from '../../src/storage/mcp-registrations-repo';
import { createSealer } from '../../src/storage/sealer';
import { freePort } from '../support/azurite';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../support/mcp/protected-mcp-server';
import { completeConsent } from '../support/oidc/complete-consent';
import { startOidcProvider } from '../support/oidc/start-oidc-provider';
import { CLIENT_KEY, startConnection, startWorld, waitForStatus, World, type OidcHandle } from './support/world';

jest.setTimeout(120_000);

let mcp: ProtectedMcpServer;
let auth: OidcHandle;
let world: World;
let brokerUrl: string;
let registrations: McpRegistrationsRepository;
const INTROSPECTOR = { client_id: 'mcp-resource-server', client_secret: 'mcp-resource-server-secret' };

beforeAll(async () => {
  mcp = await startProtectedMcpServer();
  auth = await startOidcProvider({
    registration: true,
    resourceServers: { [mcp.url]: 'mcp:tools' },
    clients: [{ ...INTROSPECTOR, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: [], response_types: [] }],
  });
  mcp.protect({ issuer: auth.issuer, introspectionUrl: auth.url('/token/introspection'), clientId: INTROSPECTOR.client_id, clientSecret: INTROSPECTOR.client_secret, scopes: ['mcp:tools'] });

  const brokerPort = await freePort();
  brokerUrl = `http://127.0.0.1:${brokerPort}`;
  // What an operator does once per MCP server: discover, register, and add the provider definition.
  const discovered = await discoverMcpServer(mcp.url, sendHttpRequest);
  const registration = await registerClient(discovered, { ...registerOptions(), store: memoryStore() });
  const definition = mcpProviderDefinition(discovered, registration, 'Protected MCP server');
  world = await startWorld({ brokerPort, extraSettings: (_url, providers) => ({ BROKER_PROVIDERS: JSON.stringify({ ...providers, mcp: definition }) }) });
}, 120_000);

function registerOptions() {
  return { send: sendHttpRequest, redirectUri: `${brokerUrl}/api/callback/mcp`, clientMetadataUrl: `${brokerUrl}/api/mcp/client-metadata/mcp` };
}

function memoryStore(): RegistrationStore {
  const byIssuer = new Map<string, ClientRegistration>();
  return { get: async (issuer) => byIssuer.get(issuer), put: async (r) => (byIssuer.set(r.issuer, r), r) };
}

afterAll(async () => {
  await world?.stop();
  await auth?.stop();
  await mcp?.close();
});

/** The registration store the broker uses, over the world's Azurite (its own table here). */
async function registrationStore(connectionString: string): Promise<McpRegistrationsRepository> {
  const table = TableClient.fromConnectionString(connectionString, 'McpRegistrationsTest', { allowInsecureConnection: true });
  await table.createTable();
  const keyring = createKeyring({ keyId: 'k1', key: Buffer.alloc(32, 7) });
  return new McpRegistrationsRepository(table, createSealer({ getEncryptionKeys: async () => keyring }));
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

test('When the broker registers, then it registers dynamically once per issuer and keeps the registration by issuer', async () => {
  registrations = await registrationStore(world.azurite.connectionString);
  const discovered = await discoverMcpServer(mcp.url, sendHttpRequest);
  const options = { ...registerOptions(), store: registrations };
  const first = await registerClient(discovered, options);
  expect(first.via).toBe('dynamic_registration');
  expect(first.clientSecret).toEqual(expect.any(String));
  const again = await registerClient(discovered, options);
  expect(again.clientId).toBe(first.clientId);
  expect((await registrations.get(auth.issuer))?.clientId).toBe(first.clientId);
  // The secret is sealed at rest.
  const raw = TableClient.fromConnectionString(world.azurite.connectionString, 'McpRegistrationsTest', { allowInsecureConnection: true });
  for await (const entity of raw.listEntities()) expect(JSON.stringify(entity)).not.toContain(first.clientSecret);
});

test('When a connection to the MCP server is made, then resource rides on both requests and the proxy calls the MCP server with its token', async () => {
  const started = await startConnection(world, { provider: 'mcp' });
  const authorizationUrl = new URL(started.authorizationUrl);
  expect(authorizationUrl.searchParams.get('resource')).toBe(mcp.url);
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
  const callback = await completeConsent(started.authorizationUrl, { account: 'carol', approve: true });
  expect(new URL(callback).searchParams.get('iss')).toBe(auth.issuer);
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
    client_id: `${brokerUrl}/api/mcp/client-metadata/mcp`,
    redirect_uris: [`${brokerUrl}/api/callback/mcp`],
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
