/**
 * The SDK and the OpenAPI document agree: the committed types are exactly what the document
 * generates (so a changed schema fails here until `npm run sdk:generate` is run), every client
 * operation of the document has an SDK method sending its method and path, and the SDK package is
 * standalone (no runtime dependencies, nothing imported from the broker).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BrokerClient } from '../../sdk/src';
import { clientOperations, OpenApiDocument, renderClientTypes } from '../../sdk/codegen/render-types';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';
import { schemaErrors } from './support/schema-errors';

const SDK = path.resolve(__dirname, '../../sdk');
const GENERATED = path.join(SDK, 'src/generated/openapi.ts');
const document = OPENAPI_DOCUMENT as unknown as OpenApiDocument;
const copy = (): any => JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)); // eslint-disable-line @typescript-eslint/no-explicit-any

test('the committed sdk/src/generated/openapi.ts is what the document generates (run `npm run sdk:generate` when this fails)', () => {
  expect(readFileSync(GENERATED, 'utf8')).toBe(renderClientTypes(document));
});

test('a drift in the document shows in the generated types: a new required field, a field no longer required, a moved route', () => {
  const base = renderClientTypes(document);
  const changed = copy();
  changed.components.schemas.Connection.properties.region = { type: 'string' };
  changed.components.schemas.Connection.required.push('region');
  changed.components.schemas.StartedConnection.required = changed.components.schemas.StartedConnection.required.filter((f: string) => f !== 'authorizationExpiresAt');
  changed.paths['/connections/{id}/access-token'] = changed.paths['/connections/{id}/token'];
  delete changed.paths['/connections/{id}/token'];
  const drifted = renderClientTypes(changed);
  expect(drifted).not.toBe(base);
  expect(drifted).toMatch(/export interface Connection \{[^}]*\n {2}region: string;\n/);
  expect(drifted).toMatch(/export interface StartedConnection \{[^}]*\n {2}authorizationExpiresAt\?: string;\n/);
  expect(drifted).toContain("getToken: { method: 'GET', path: '/connections/{id}/access-token', success: 200 }");
});

test('the generator refuses schema keywords it cannot express instead of guessing', () => {
  const changed = copy();
  changed.components.schemas.Connection.properties.labels = { type: 'object', patternProperties: { '^x-': { type: 'string' } } };
  expect(() => renderClientTypes(changed)).toThrow('Connection.labels: schema keyword "patternProperties" is not supported');
});

/** How the SDK performs each client operation of the document (proxy: one method, five verbs). */
const PERFORM: Record<string, (client: BrokerClient) => Promise<unknown>> = {
  startConnection: (c) => c.startConnection({ provider: 'demo' }),
  listConnections: (c) => c.listConnections({ status: 'connected', top: 5 }),
  getConnection: (c) => c.getConnection('c-1'),
  revokeConnection: (c) => c.revokeConnection('c-1'),
  getToken: (c) => c.getToken('c-1'),
  refreshConnection: (c) => c.refreshConnection('c-1'),
  reauthorizeConnection: (c) => c.reauthorizeConnection('c-1'),
  completeConnection: (c) => c.completeConnection('c-1', { completionCode: 'code', bindingVerifier: 'v'.repeat(43) }),
  createConnectLink: (c) => c.createConnectLink({ endUserId: 'u-1', provider: 'demo' }),
  proxyGet: (c) => c.proxy('c-1', 'a/b'),
  proxyPost: (c) => c.proxy('c-1', 'a/b', { method: 'POST', body: '{}' }),
  proxyPut: (c) => c.proxy('c-1', 'a/b', { method: 'PUT', body: '{}' }),
  proxyPatch: (c) => c.proxy('c-1', 'a/b', { method: 'PATCH', body: '{}' }),
  proxyDelete: (c) => c.proxy('c-1', 'a/b', { method: 'DELETE' }),
  listProviders: (c) => c.listProviders(),
};

test('every client operation of the document has an SDK method, and each sends the documented method and path', async () => {
  const operations = clientOperations(document);
  expect(Object.keys(PERFORM).sort()).toEqual(operations.map((op) => op.id).sort());
  // Operator and anonymous routes are not the client's.
  expect(operations.some((op) => op.path.startsWith('/ops') || op.path === '/health' || op.path.startsWith('/callback'))).toBe(false);

  for (const op of operations) {
    const sent: Array<{ method: string; url: URL; headers: Headers; body: unknown }> = [];
    const success = Number(Object.keys(op.operation.responses).find((s) => /^2/.test(s)) ?? 200);
    const client = new BrokerClient({
      baseUrl: 'http://broker.invalid:7071',
      apiKey: 'client-key',
      fetch: async (input, init) => {
        sent.push({ method: init?.method ?? 'GET', url: new URL(String(input)), headers: new Headers(init?.headers), body: init?.body });
        return success === 204 ? new Response(null, { status: 204 }) : Response.json({}, { status: success });
      },
    });
    await PERFORM[op.id](client);
    expect(sent).toHaveLength(1);
    const [request] = sent;
    expect(`${op.id}: ${request.method} ${request.url.pathname}`).toBe(`${op.id}: ${op.method} /api${op.path.replace('{id}', 'c-1').replace('{path}', 'a/b')}`);
    expect(request.headers.get('authorization')).toBe('Bearer client-key');
    const jsonBody = op.operation.requestBody?.content?.['application/json']?.schema;
    if (jsonBody && Object.keys(jsonBody).length > 0) {
      expect(request.headers.get('content-type')).toBe('application/json');
      expect(() => JSON.parse(String(request.body))).not.toThrow();
    }
  }
});

test('list query parameters are the documented ones and are sent as given', async () => {
  let url: URL | undefined;
  const client = new BrokerClient({ baseUrl: 'http://broker.invalid', apiKey: 'k', fetch: async (input) => ((url = new URL(String(input))), Response.json({ items: [] })) });
  await client.listConnections({ provider: 'oidc', status: 'revoked', endUserId: 'u 1', accountSubject: 's', accountIssuer: 'https://id.example', top: 10, continuation: 'abc' });
  const documented = (document.paths['/connections'].get.parameters ?? []).map((p) => p.name).sort();
  expect([...url!.searchParams.keys()].sort()).toEqual(documented);
  expect(url!.searchParams.get('endUserId')).toBe('u 1');
});

test('the SDK is standalone: no runtime dependencies, and its sources import only each other and node: built-ins', () => {
  const manifest = JSON.parse(readFileSync(path.join(SDK, 'package.json'), 'utf8'));
  expect(manifest.name).toBe('@durable-oauth-broker/client');
  expect(manifest.dependencies ?? {}).toEqual({});
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
  const imports = sources(path.join(SDK, 'src')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]));
  expect(imports.length).toBeGreaterThan(5);
  expect(imports.filter((specifier) => !specifier.startsWith('./') && !specifier.startsWith('node:'))).toEqual([]);
});

test('the built package (sdk/dist, compiled by `npm run build:sdk`, which `npm test` runs) exports the client', () => {
  const manifest = JSON.parse(readFileSync(path.join(SDK, 'package.json'), 'utf8'));
  const built = require(path.join(SDK, manifest.main));
  expect(typeof built.BrokerClient).toBe('function');
  expect(typeof built.verifyWebhook).toBe('function');
  expect(readFileSync(path.join(SDK, manifest.types), 'utf8')).toContain('BrokerClient');
});

test('the schema check the end-to-end test holds the broker’s answers to flags a missing required field, a wrong type and a oneOf miss', () => {
  const check = (value: unknown, name: string) => schemaErrors(value, { $ref: `#/components/schemas/${name}` }, OPENAPI_DOCUMENT as never);
  expect(check({ items: [{ name: 'p', protocol: 'oauth2', displayName: 'P' }] }, 'ProviderList')).toEqual([]);
  expect(check({ items: [{ name: 'p', protocol: 'oauth3' }] }, 'ProviderList')).toEqual(['$.items[0].displayName: required but missing', '$.items[0].protocol: "oauth3" is not one of the enum']);
  expect(check({ tokenType: 'Bearer', accessToken: 1, expiresAt: null, scopes: [] }, 'Token')).toEqual(['$: matches 0 of the oneOf alternatives']);
  expect(check({ items: 'none' }, 'ConnectionPage')).toEqual(['$.items: string where array is expected']);
});
