/**
 * POST /ops/mcp-servers: given an MCP server's URL, the broker discovers its authorization server,
 * registers itself there (once per issuer, stored) and answers the provider definition an operator
 * adds to BROKER_PROVIDERS under `provider`. Providers stay data: nothing here changes the running
 * configuration.
 */
import { BrokerError } from '../domain/errors';
import { discoverMcpServer } from '../mcp/discovery';
import { mcpProviderDefinition } from '../mcp/provider-definition';
import { registerClient } from '../mcp/registration';
import { callbackUrl, type Runtime } from './runtime';

export interface AddMcpServerRequest {
  url: string;
  /** The provider name the definition will be configured under (its callback URL depends on it). */
  provider: string;
  displayName?: string;
  /** Used only when the server takes neither client metadata documents nor dynamic registration. */
  preRegistered?: { clientId: string; clientSecret?: string };
}

export async function addMcpServer(runtime: Runtime, request: AddMcpServerRequest) {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(request.provider)) {
    throw new BrokerError('INVALID_REQUEST', '"provider" must be 1–64 lower-case letters, digits, "_" or "-"', { details: { field: 'provider' } });
  }
  const server = await discoverMcpServer(request.url, runtime.http.send);
  const registration = await registerClient(server, {
    send: runtime.http.send,
    store: runtime.mcpRegistrations,
    redirectUri: callbackUrl(runtime.settings, request.provider),
    clientMetadataUrl: `${runtime.settings.baseUrl}/api/mcp/client-metadata/${encodeURIComponent(request.provider)}`,
    ...(request.preRegistered ? { preRegistered: request.preRegistered } : {}),
  });
  return {
    provider: request.provider,
    issuer: server.issuer,
    resource: server.resource,
    registeredVia: registration.via,
    definition: mcpProviderDefinition(server, registration, request.displayName ?? request.provider),
  };
}
