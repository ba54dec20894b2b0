/**
 * The broker as an MCP client: from an MCP server's URL to its authorization server, as the MCP
 * authorization spec prescribes. First the protected resource metadata (RFC 9728), located by the
 * `resource_metadata` parameter of the server's 401 `WWW-Authenticate` or at its well-known URL; then
 * the authorization server metadata (RFC 8414, falling back to OpenID Connect Discovery). Every
 * identifier is compared exactly (RFC 9728 §3.3, RFC 8414 §3.3), and a server that does not offer
 * PKCE S256 is refused (the MCP spec makes PKCE a MUST).
 *
 * Apart from the providers' discovery (src/oauth/oauth2/discovery.ts, oauth4webapi's): the MCP spec
 * asks for RFC 8414 first and for OpenID configuration with the path inserted as well as appended,
 * three candidates where `discoveryRequest` makes one per algorithm.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9728
 * @see https://www.rfc-editor.org/rfc/rfc8414
 */
import { BrokerError } from '../domain/errors';
import type { HttpResponse, HttpSend } from '../oauth/http';

export interface McpServerAuthorization {
  /** The protected resource identifier (RFC 8707 `resource` on both requests). */
  resource: string;
  scopes: string[];
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint?: string;
  revocationEndpoint?: string;
  /** RFC 9207: the server sends `iss` with its authorization responses. */
  issParameterSupported: boolean;
  /** The server accepts a URL-formatted client_id (an OAuth Client ID Metadata Document). */
  clientIdMetadataDocumentSupported: boolean;
  tokenEndpointAuthMethods: string[];
}

export async function discoverMcpServer(serverUrl: string, send: HttpSend): Promise<McpServerAuthorization> {
  const resourceUrl = canonicalResource(serverUrl);
  const resource = await protectedResourceMetadata(resourceUrl, send);
  const issuer = firstString(resource.authorization_servers, 'authorization_servers');
  const server = await authorizationServerMetadata(issuer, send);
  const methods = stringList(server.code_challenge_methods_supported);
  if (!methods.includes('S256')) {
    throw discoveryError(`the authorization server ${issuer} does not list S256 in code_challenge_methods_supported; PKCE is required`);
  }
  return {
    resource: resourceUrl,
    scopes: stringList(resource.scopes_supported),
    issuer,
    authorizationEndpoint: httpUrl(server.authorization_endpoint, 'authorization_endpoint'),
    tokenEndpoint: httpUrl(server.token_endpoint, 'token_endpoint'),
    ...(server.registration_endpoint !== undefined ? { registrationEndpoint: httpUrl(server.registration_endpoint, 'registration_endpoint') } : {}),
    ...(server.revocation_endpoint !== undefined ? { revocationEndpoint: httpUrl(server.revocation_endpoint, 'revocation_endpoint') } : {}),
    issParameterSupported: server.authorization_response_iss_parameter_supported === true,
    clientIdMetadataDocumentSupported: server.client_id_metadata_document_supported === true,
    tokenEndpointAuthMethods: stringList(server.token_endpoint_auth_methods_supported ?? ['client_secret_basic']),
  };
}

/** RFC 8707 §2: an absolute URI without a fragment; the MCP spec uses the server's URL as given. */
function canonicalResource(serverUrl: string): string {
  const url = parseHttpUrl(serverUrl);
  if (!url || url.hash) throw new BrokerError('INVALID_REQUEST', '"mcpServerUrl" must be an absolute http(s) URL without a fragment', { details: { field: 'mcpServerUrl' } });
  return url.toString();
}

async function protectedResourceMetadata(resource: string, send: HttpSend): Promise<Record<string, unknown>> {
  const candidates: string[] = [];
  const challenge = await send({ url: resource, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
  const fromHeader = challenge.status === 401 ? resourceMetadataParameter(challenge.headers['www-authenticate']) : undefined;
  if (fromHeader) candidates.push(fromHeader);
  // RFC 9728 §3.1: the well-known path is inserted before the resource's path.
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  candidates.push(`${url.origin}/.well-known/oauth-protected-resource${path}`, `${url.origin}/.well-known/oauth-protected-resource`);
  for (const candidate of candidates) {
    const metadata = await getJson(candidate, send);
    if (!metadata) continue;
    if (metadata.resource !== resource && metadata.resource !== resource.replace(/\/$/, '')) {
      throw discoveryError(`the protected resource metadata names resource "${String(metadata.resource)}", not ${resource}`);
    }
    return metadata;
  }
  throw discoveryError(`no protected resource metadata found for ${resource}`);
}

async function authorizationServerMetadata(issuer: string, send: HttpSend): Promise<Record<string, unknown>> {
  const url = parseHttpUrl(issuer);
  if (!url || url.search || url.hash) throw discoveryError(`the authorization server "${issuer}" is not an http(s) URL without query or fragment`);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const candidates = [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
  for (const candidate of candidates) {
    const metadata = await getJson(candidate, send);
    if (!metadata) continue;
    // RFC 8414 §3.3 / OIDC Discovery §4.3: the issuer must be exactly the one asked about.
    if (metadata.issuer !== issuer) throw discoveryError(`the metadata at ${candidate} names issuer "${String(metadata.issuer)}", not "${issuer}"`);
    return metadata;
  }
  throw discoveryError(`no authorization server metadata found for ${issuer}`);
}

/** `Bearer resource_metadata="https://…", scope="…"` (RFC 9728 §5.1). */
export function resourceMetadataParameter(header: string | undefined): string | undefined {
  const match = header ? /resource_metadata="([^"]+)"/i.exec(header) : null;
  return match && parseHttpUrl(match[1]) ? match[1] : undefined;
}

async function getJson(url: string, send: HttpSend): Promise<Record<string, unknown> | undefined> {
  let answer: HttpResponse;
  try {
    answer = await send({ url, method: 'GET', headers: { accept: 'application/json' } });
  } catch (error) {
    throw new BrokerError('PROVIDER_UNAVAILABLE', `could not reach ${url}`, { cause: error, transient: true });
  }
  if (answer.status === 404 || answer.status === 405) return undefined;
  if (answer.status !== 200) throw discoveryError(`${url} answered ${answer.status}`);
  try {
    const value = JSON.parse(answer.body.toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw discoveryError(`${url} did not answer a JSON object`);
}

function parseHttpUrl(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function httpUrl(value: unknown, field: string): string {
  if (typeof value !== 'string' || !parseHttpUrl(value)) throw discoveryError(`the metadata's "${field}" is not an http(s) URL`);
  return value;
}

function firstString(value: unknown, field: string): string {
  const list = stringList(value);
  if (list.length === 0) throw discoveryError(`the protected resource metadata has no "${field}"`);
  return list[0];
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function discoveryError(message: string): BrokerError {
  return new BrokerError('OAUTH_INVALID_RESPONSE', message);
}
