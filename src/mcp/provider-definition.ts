/**
 * A discovered and registered MCP server as a broker provider definition (the same data as any
 * BROKER_PROVIDERS entry): PKCE S256, RFC 8707 `resource` on the authorization and on every token
 * request (code exchange and refresh), and the MCP server itself as `apiBaseUrl`'s origin, so the
 * proxy calls it with the connection's token. The authorization server's issuer is the definition's
 * `issuer`, so an authorization response naming another (RFC 9207 `iss`) is refused, and one without
 * `iss` too when the server says it always sends it. A registration without a secret (the metadata
 * document, or a public client) is a public client: `none` at the token endpoint, PKCE alone.
 */
import { BrokerError } from '../domain/errors';
import type { McpServerAuthorization } from './discovery';
import type { ClientRegistration } from './registration';

export function mcpProviderDefinition(server: McpServerAuthorization, registration: ClientRegistration, displayName: string) {
  if (registration.issuer !== server.issuer) throw new BrokerError('PROVIDER_INVALID', `the registration is for ${registration.issuer}, not ${server.issuer}`);
  const publicClient = registration.tokenEndpointAuthMethod === 'none' || !registration.clientSecret;
  return {
    protocol: 'oauth2' as const,
    displayName,
    authorizationUrl: server.authorizationEndpoint,
    tokenUrl: server.tokenEndpoint,
    ...(server.revocationEndpoint ? { revocationUrl: server.revocationEndpoint } : {}),
    apiBaseUrl: new URL(server.resource).origin,
    issuer: server.issuer,
    ...(server.issParameterSupported ? { authorizationResponseIssRequired: true } : {}),
    defaultScopes: server.scopes,
    scopeSeparator: ' ',
    pkce: true,
    clientId: registration.clientId,
    ...(publicClient
      ? { clientAuthMethod: 'none' as const }
      : { clientAuthMethod: registration.tokenEndpointAuthMethod, clientSecret: registration.clientSecret }),
    authorizationParams: { resource: server.resource },
    tokenParams: { resource: server.resource },
  };
}
