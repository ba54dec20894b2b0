/**
 * A discovered and registered MCP server as a broker provider definition (the same data as any
 * BROKER_PROVIDERS entry): PKCE S256, RFC 8707 `resource` on the authorization and on every token
 * request (code exchange and refresh), and the MCP server itself as `apiBaseUrl`'s origin, so the
 * proxy calls it with the connection's token.
 */
import { BrokerError } from '../domain/errors';
import type { McpServerAuthorization } from './discovery';
import type { ClientRegistration } from './registration';

export function mcpProviderDefinition(server: McpServerAuthorization, registration: ClientRegistration, displayName: string) {
  if (registration.issuer !== server.issuer) throw new BrokerError('PROVIDER_INVALID', `the registration is for ${registration.issuer}, not ${server.issuer}`);
  if (registration.tokenEndpointAuthMethod === 'none' || !registration.clientSecret) {
    // The broker's token requests authenticate with a secret today; public clients need `none`.
    throw new BrokerError('PROVIDER_INVALID', 'a public (metadata-document) client needs token endpoint auth method "none", which providers cannot declare yet');
  }
  return {
    protocol: 'oauth2' as const,
    displayName,
    authorizationUrl: server.authorizationEndpoint,
    tokenUrl: server.tokenEndpoint,
    ...(server.revocationEndpoint ? { revocationUrl: server.revocationEndpoint } : {}),
    apiBaseUrl: new URL(server.resource).origin,
    defaultScopes: server.scopes,
    scopeSeparator: ' ',
    pkce: true,
    clientAuthMethod: registration.tokenEndpointAuthMethod,
    clientId: registration.clientId,
    clientSecret: registration.clientSecret,
    authorizationParams: { resource: server.resource },
    tokenParams: { resource: server.resource },
  };
}
