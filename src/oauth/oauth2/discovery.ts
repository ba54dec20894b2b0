/**
 * Authorization server metadata by discovery: OpenID Connect Discovery first, RFC 8414 when the
 * issuer has no OpenID configuration. Fetched once per provider and cached in memory; a failed
 * fetch is not cached, and {@link forgetDiscovered} drops an entry so the next use fetches again
 * (callers do that when a call made with discovered endpoints fails).
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html
 * @see https://www.rfc-editor.org/rfc/rfc8414
 */
import * as oauth from 'oauth4webapi';
import { endpointUrlProblem } from '../../config/url-rules';
import { BrokerError } from '../../domain/errors';
import { fromLibraryError, requestOptions, ServerEndpoints, TransportOptions } from './library';

/** What discovery tells the broker beyond endpoints. */
export interface DiscoveredServer extends ServerEndpoints {
  issuer: string;
  /** `require_pushed_authorization_requests` (RFC 9126 §5). */
  requiresPar?: boolean;
  /** `dpop_signing_alg_values_supported` (RFC 9449 §5.1). */
  dpopSigningAlgs?: string[];
}

/** Metadata member → broker field, for every endpoint the broker may use. */
const ENDPOINT_MEMBERS = {
  authorization_endpoint: 'authorizationUrl',
  token_endpoint: 'tokenUrl',
  revocation_endpoint: 'revocationUrl',
  introspection_endpoint: 'introspectionUrl',
  jwks_uri: 'jwksUrl',
  pushed_authorization_request_endpoint: 'parUrl',
  device_authorization_endpoint: 'deviceAuthorizationUrl',
} as const satisfies Record<string, keyof ServerEndpoints>;

type EndpointMember = keyof typeof ENDPOINT_MEMBERS;

export interface DiscoveryTarget {
  /** Provider name, for messages. */
  name: string;
  issuer: string;
}

const cache = new Map<string, Promise<DiscoveredServer>>();
const cacheKey = (target: DiscoveryTarget) => `${target.name}\n${target.issuer}`;

/** The provider's discovered metadata, from the cache when an earlier fetch succeeded. */
export function discoverServer(target: DiscoveryTarget, transport?: TransportOptions): Promise<DiscoveredServer> {
  const key = cacheKey(target);
  let entry = cache.get(key);
  if (!entry) {
    entry = fetchServer(target, transport);
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
  }
  return entry;
}

/** Drops the cached metadata so the next {@link discoverServer} fetches it again. */
export function forgetDiscovered(target: DiscoveryTarget): void {
  cache.delete(cacheKey(target));
}

async function fetchServer(target: DiscoveryTarget, transport?: TransportOptions): Promise<DiscoveredServer> {
  const issuer = new URL(target.issuer);
  const options = requestOptions(target.issuer, transport);
  let response = await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' });
  if (response.status === 404) response = await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' });
  if (response.status >= 500 || response.status === 429) {
    throw new BrokerError('PROVIDER_UNAVAILABLE', `provider "${target.name}": discovery answered HTTP ${response.status}`, {
      transient: true,
      providerStatus: response.status,
    });
  }
  let metadata: oauth.AuthorizationServer;
  try {
    metadata = await oauth.processDiscoveryResponse(issuer, response);
  } catch (error) {
    const attribute = (error as { cause?: { attribute?: string } })?.cause?.attribute;
    if (attribute === 'issuer') throw metadataInvalid(target, 'issuer', `is "${String((error as { cause?: { body?: { issuer?: unknown } } }).cause?.body?.issuer)}", not the configured issuer`);
    throw metadataInvalid(target, undefined, fromLibraryError(error, 'is unusable').message);
  }
  return readServer(target, metadata);
}

/** Checks the members the broker uses: absolute https URLs (http only on loopback hosts). */
function readServer(target: DiscoveryTarget, metadata: oauth.AuthorizationServer): DiscoveredServer {
  const server: DiscoveredServer = { issuer: metadata.issuer };
  for (const [member, field] of Object.entries(ENDPOINT_MEMBERS) as Array<[EndpointMember, keyof ServerEndpoints]>) {
    const value = metadata[member];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw metadataInvalid(target, member, 'is not a string');
    const problem = endpointUrlProblem(value);
    if (problem) throw metadataInvalid(target, member, problem);
    server[field] = value;
  }
  if (metadata.require_pushed_authorization_requests === true) server.requiresPar = true;
  const algs = metadata.dpop_signing_alg_values_supported;
  if (Array.isArray(algs) && algs.every((alg) => typeof alg === 'string')) server.dpopSigningAlgs = algs;
  return server;
}

/** An endpoint the broker needs, from explicit configuration or discovery, or a message naming both. */
export function requireEndpoint(target: { name: string }, endpoints: ServerEndpoints, field: 'authorizationUrl' | 'tokenUrl'): string {
  const value = endpoints[field];
  if (value === undefined) {
    const member = field === 'authorizationUrl' ? 'authorization_endpoint' : 'token_endpoint';
    throw metadataInvalid(target, member, `is missing, and the definition does not set "${field}"`);
  }
  return value;
}

function metadataInvalid(target: { name: string }, member: string | undefined, problem: string): BrokerError {
  const where = member === undefined ? 'discovery document' : `discovered metadata "${member}"`;
  return new BrokerError('PROVIDER_METADATA_INVALID', `provider "${target.name}": ${where} ${problem}`, {
    details: { provider: target.name, ...(member === undefined ? {} : { field: member }) },
  });
}
