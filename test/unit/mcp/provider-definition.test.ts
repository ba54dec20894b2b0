/**
 * The provider definition built for a discovered and registered MCP server: ordinary provider data
 * that carries the authorization server's issuer (RFC 9207 `iss` checked on every callback) and,
 * for a registration without a secret, a public client (`none`, PKCE required).
 */
import type { McpServerAuthorization } from '../../../src/mcp/discovery';
import { mcpProviderDefinition } from '../../../src/mcp/provider-definition';
import type { ClientRegistration } from '../../../src/mcp/registration';
import { CATALOGUE } from '../../../src/providers/catalogue';
import { buildProviderRegistry } from '../../../src/providers/registry';

const server: McpServerAuthorization = {
  resource: 'https://mcp.example.com/mcp',
  scopes: ['mcp:tools'],
  issuer: 'https://auth.example.com',
  authorizationEndpoint: 'https://auth.example.com/authorize',
  tokenEndpoint: 'https://auth.example.com/token',
  issParameterSupported: true,
  clientIdMetadataDocumentSupported: true,
  tokenEndpointAuthMethods: ['none', 'client_secret_basic'],
};

const metadataDocument: ClientRegistration = {
  issuer: server.issuer,
  clientId: 'https://broker.example.com/api/mcp/client-metadata/mcp',
  tokenEndpointAuthMethod: 'none',
  via: 'metadata_document',
  redirectUris: ['https://broker.example.com/api/callback/mcp'],
};

test('a metadata-document registration becomes a public client that the provider registry accepts', () => {
  const definition = mcpProviderDefinition(server, metadataDocument, 'MCP');
  expect(definition).toMatchObject({ clientId: metadataDocument.clientId, clientAuthMethod: 'none', pkce: true, issuer: server.issuer, authorizationResponseIssRequired: true });
  expect(definition).not.toHaveProperty('clientSecret');
  const registry = buildProviderRegistry(CATALOGUE, [{ source: 'BROKER_PROVIDERS', json: { mcp: definition } }]);
  expect(registry.isConfigured('mcp')).toBe(true);
  expect(registry.resolve('mcp')).toMatchObject({ clientAuthMethod: 'none', issuer: server.issuer });
});

test('a registration with a secret keeps its method and secret; a server that does not send iss does not require it', () => {
  const definition = mcpProviderDefinition(
    { ...server, issParameterSupported: false },
    { ...metadataDocument, clientId: 'dyn-1', clientSecret: 's3cret', tokenEndpointAuthMethod: 'client_secret_post', via: 'dynamic_registration' },
    'MCP',
  );
  expect(definition).toMatchObject({ clientAuthMethod: 'client_secret_post', clientSecret: 's3cret', issuer: server.issuer });
  expect(definition).not.toHaveProperty('authorizationResponseIssRequired');
});

test('a registration for another issuer is refused', () => {
  expect(() => mcpProviderDefinition(server, { ...metadataDocument, issuer: 'https://other.example.com' }, 'MCP')).toThrow('not https://auth.example.com');
});
