/**
 * A provider's endpoints as the broker uses them: the definition's explicit fields, and for the
 * ones it leaves out, the issuer's discovered metadata. Explicit fields always win.
 */
import { BrokerError } from '../../domain/errors';
import { DiscoveredServer, discoverServer, forgetDiscovered, requireEndpoint } from './discovery';
import type { IdTokenCheck } from './id-token';
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

/**
 * The provider's endpoints. Discovery runs only when the definition has an issuer and leaves out
 * one of the endpoints the caller `needs` (the authorization and token endpoints always count):
 * a definition that names them all is used as written, without a request.
 */
export async function providerServer(
  definition: EndpointDefinition,
  transport?: TransportOptions,
  needs: ReadonlyArray<keyof ServerEndpoints> = [],
): Promise<ProviderServer> {
  const missing = ['authorizationUrl' as const, 'tokenUrl' as const, ...needs].some((field) => definition[field] === undefined);
  const discovered = definition.issuer && missing ? await discoverServer({ name: definition.name, issuer: definition.issuer }, transport) : undefined;
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

/** OpenID Connect is in play when `openid` is requested from a provider with a known issuer. */
export function expectsIdToken(definition: Pick<EndpointDefinition, 'issuer'>, scopes: readonly string[]): boolean {
  return definition.issuer !== undefined && scopes.includes('openid');
}

/**
 * What the exchange checks the ID Token against, or undefined when OpenID Connect is not in play
 * (the token answer's id_token is then kept as before, but names no account).
 * @throws BrokerError PROVIDER_METADATA_INVALID when the issuer's keys are not known.
 */
export function idTokenCheck(
  definition: EndpointDefinition,
  server: ProviderServer,
  clientId: string,
  scopes: readonly string[],
  nonce: string | undefined,
): IdTokenCheck | undefined {
  if (!expectsIdToken(definition, scopes) || server.issuer === undefined) return undefined;
  if (server.jwksUrl === undefined) {
    throw new BrokerError('PROVIDER_METADATA_INVALID', `provider "${definition.name}": discovered metadata "jwks_uri" is missing, and the definition does not set "jwksUrl"`, {
      details: { provider: definition.name, field: 'jwks_uri' },
    });
  }
  return { issuer: server.issuer, jwksUrl: server.jwksUrl, clientId, nonce };
}
