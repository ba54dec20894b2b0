/**
 * A provider's endpoints as the broker uses them: the definition's explicit fields, and for the
 * ones it leaves out, the issuer's discovered metadata. Explicit fields always win.
 */
import { BrokerError } from '../../domain/errors';
import { DiscoveredServer, discoverServer, forgetDiscovered, requireEndpoint } from './discovery';
import type { ServerEndpoints, TransportOptions } from './library';

export interface EndpointDefinition extends ServerEndpoints {
  /** Provider name, for messages and the discovery cache. */
  name: string;
}

export interface ProviderServer extends ServerEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  /** Present when the endpoints came (partly) from discovery. */
  discovered?: DiscoveredServer;
}

const ENDPOINT_FIELDS = [
  'authorizationUrl',
  'tokenUrl',
  'revocationUrl',
  'introspectionUrl',
  'jwksUrl',
  'parUrl',
  'deviceAuthorizationUrl',
] as const satisfies ReadonlyArray<keyof ServerEndpoints>;

/** Every endpoint of the provider; discovery runs only when the definition has an issuer. */
export async function providerServer(definition: EndpointDefinition, transport?: TransportOptions): Promise<ProviderServer> {
  const discovered = definition.issuer ? await discoverServer({ name: definition.name, issuer: definition.issuer }, transport) : undefined;
  const merged: ServerEndpoints = { issuer: definition.issuer };
  for (const field of ENDPOINT_FIELDS) {
    const value = definition[field] ?? discovered?.[field];
    if (value !== undefined) merged[field] = value;
  }
  return {
    ...merged,
    authorizationUrl: requireEndpoint(definition, merged, 'authorizationUrl'),
    tokenUrl: requireEndpoint(definition, merged, 'tokenUrl'),
    ...(discovered ? { discovered } : {}),
  };
}

/**
 * Runs a call made with the provider's endpoints; when it fails and some endpoint was discovered,
 * the cached metadata is dropped so the next attempt discovers again (the issuer may have moved
 * an endpoint). The failure itself is passed on unchanged.
 */
export async function withRediscovery<T>(definition: EndpointDefinition, server: ProviderServer, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (server.discovered && definition.issuer && shouldRediscover(error)) forgetDiscovered({ name: definition.name, issuer: definition.issuer });
    throw error;
  }
}

/** Failures that a moved endpoint could explain: unreachable, or an answer that is not OAuth at all. */
function shouldRediscover(error: unknown): boolean {
  if (!(error instanceof BrokerError)) return true;
  return error.transient || error.code === 'OAUTH_INVALID_RESPONSE' || (error.code === 'OAUTH_PROVIDER_ERROR' && error.providerError === undefined);
}
