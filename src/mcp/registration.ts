/**
 * How the broker becomes a client of an MCP server's authorization server, in the MCP spec's order
 * of preference: a Client ID Metadata Document the broker serves (its URL is the client_id) when the
 * server supports them, else dynamic client registration (RFC 7591), else credentials an operator
 * registered beforehand. A registration is stored per issuer, so every MCP server behind the same
 * authorization server (and every instance of the broker) shares one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591
 * @see https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
 */
import { BrokerError } from '../domain/errors';
import type { HttpSend } from '../oauth/http';
import type { ClientRegistration, RegistrationStore } from '../storage/mcp-registrations-repo';
import type { McpServerAuthorization } from './discovery';

export type { ClientRegistration, RegistrationStore } from '../storage/mcp-registrations-repo';

export interface RegisterOptions {
  send: HttpSend;
  store: RegistrationStore;
  /** The broker's callback URL for this MCP server. */
  redirectUri: string;
  /** Where the broker serves its Client ID Metadata Document (an https URL in production). */
  clientMetadataUrl: string;
  preRegistered?: { clientId: string; clientSecret?: string };
}

/** The broker's Client ID Metadata Document: served at `clientMetadataUrl`, which is also its client_id. */
export function clientMetadataDocument(clientMetadataUrl: string, redirectUris: string[]) {
  return {
    client_id: clientMetadataUrl,
    client_name: 'Durable OAuth Broker',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
}

export async function registerClient(server: McpServerAuthorization, options: RegisterOptions): Promise<ClientRegistration> {
  const stored = await options.store.get(server.issuer);
  if (stored?.redirectUris.includes(options.redirectUri)) return stored;
  if (server.clientIdMetadataDocumentSupported) {
    return options.store.put({
      issuer: server.issuer,
      clientId: options.clientMetadataUrl,
      tokenEndpointAuthMethod: 'none',
      via: 'metadata_document',
      redirectUris: [options.redirectUri],
    });
  }
  if (server.registrationEndpoint) return options.store.put(await dynamicRegistration(server, server.registrationEndpoint, options));
  if (options.preRegistered) {
    return options.store.put({
      issuer: server.issuer,
      clientId: options.preRegistered.clientId,
      ...(options.preRegistered.clientSecret ? { clientSecret: options.preRegistered.clientSecret } : {}),
      tokenEndpointAuthMethod: options.preRegistered.clientSecret ? 'client_secret_basic' : 'none',
      via: 'pre_registered',
      redirectUris: [options.redirectUri],
    });
  }
  throw new BrokerError('PROVIDER_INVALID', `the authorization server ${server.issuer} supports neither client metadata documents nor dynamic registration, and no client is pre-registered for it`);
}

async function dynamicRegistration(server: McpServerAuthorization, endpoint: string, options: RegisterOptions): Promise<ClientRegistration> {
  const method = server.tokenEndpointAuthMethods.includes('client_secret_basic') ? 'client_secret_basic' : 'client_secret_post';
  const answer = await options.send({
    url: endpoint,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      client_name: 'Durable OAuth Broker',
      redirect_uris: [options.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: method,
    }),
  });
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    // reported below
  }
  // RFC 7591 §3.2.1: 201 with the client information; §3.2.2: errors carry `error`.
  if (answer.status !== 201 || typeof body.client_id !== 'string') {
    throw new BrokerError('OAUTH_PROVIDER_ERROR', `dynamic client registration at ${endpoint} failed (${answer.status}${typeof body.error === 'string' ? ` ${body.error}` : ''})`, {
      providerStatus: answer.status,
      ...(typeof body.error === 'string' ? { providerError: body.error } : {}),
    });
  }
  return {
    issuer: server.issuer,
    clientId: body.client_id,
    ...(typeof body.client_secret === 'string' ? { clientSecret: body.client_secret } : {}),
    tokenEndpointAuthMethod: typeof body.client_secret === 'string' ? method : 'none',
    via: 'dynamic_registration',
    redirectUris: [options.redirectUri],
  };
}
