/** Turns a provider definition plus its resolved secrets into the plain inputs the OAuth modules take. */
import type { ProviderSunset } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import type { OAuth1ClientConfig } from '../oauth/oauth1/signed-request';
import type { SendOptions } from '../oauth/http';
import { ProviderServer, providerServer } from '../oauth/oauth2/endpoints';
import { TokenLifetime, tokenLifetime } from '../oauth/oauth2/lifetime';
import type { ClientAuthentication } from '../oauth/oauth2/token-request';
import type { OAuth2TokenSet } from '../oauth/oauth2/token-response';
import type { OAuth1ProviderDefinition, OAuth2ProviderDefinition } from '../providers/types';
import type { Runtime } from './runtime';

export async function oauth2Client(runtime: Pick<Runtime, 'secrets'>, provider: OAuth2ProviderDefinition): Promise<ClientAuthentication> {
  if (!provider.clientId) throw notConfigured(provider.name, 'clientId');
  if (provider.clientAuthMethod === 'none') return { clientId: provider.clientId, clientSecret: '', clientAuthMethod: 'none' };
  const clientSecret = await runtime.secrets.clientSecret(provider);
  if (!clientSecret) throw notConfigured(provider.name, 'clientSecret');
  return { clientId: provider.clientId, clientSecret, clientAuthMethod: provider.clientAuthMethod };
}

export async function oauth1Client(runtime: Pick<Runtime, 'secrets'>, provider: OAuth1ProviderDefinition): Promise<OAuth1ClientConfig> {
  if (!provider.clientId) throw notConfigured(provider.name, 'clientId');
  const base = { consumerKey: provider.clientId, signatureMethod: provider.signatureMethod, placement: provider.parameterPlacement };
  if (provider.signatureMethod === 'RSA-SHA1') {
    const privateKey = await runtime.secrets.privateKey(provider);
    if (!privateKey) throw notConfigured(provider.name, 'privateKey');
    return { ...base, privateKey };
  }
  const consumerSecret = await runtime.secrets.clientSecret(provider);
  if (consumerSecret === undefined) throw notConfigured(provider.name, 'clientSecret');
  return { ...base, consumerSecret };
}

/** The token's lifetime from its answer, its JWT `exp`, introspection, or the provider's assumed one. */
export async function tokenLifetimeOf(
  provider: OAuth2ProviderDefinition,
  known: ProviderServer,
  client: ClientAuthentication,
  tokens: OAuth2TokenSet,
  now: Date,
  transport: SendOptions,
): Promise<TokenLifetime> {
  // Introspection is worth a discovery only when the answer states no lifetime; a failed one leaves the next source.
  const server =
    tokens.expiresIn === undefined && known.introspectionUrl === undefined && provider.issuer !== undefined
      ? await providerServer(provider, transport, ['introspectionUrl']).catch(() => known)
      : known;
  return tokenLifetime({
    accessToken: tokens.accessToken,
    expiresIn: tokens.expiresIn,
    hasRefreshToken: tokens.refreshToken !== undefined && provider.refreshable !== false,
    now,
    configuredSeconds: provider.expiresInFallbackSeconds,
    ...(server.introspectionUrl ? { introspection: { ...client, introspectionUrl: server.introspectionUrl } } : {}),
  }, transport);
}

/** The connection's provider's sunset, if any; a provider since removed from the settings has none. */
export function providerSunsetOf(runtime: Pick<Runtime, 'providers'>, name: string): ProviderSunset | undefined {
  try {
    const { deprecatedAfter, successor } = runtime.providers.get(name);
    return { deprecatedAfter, successor };
  } catch {
    return undefined;
  }
}

function notConfigured(provider: string, field: string): BrokerError {
  return new BrokerError('PROVIDER_INVALID', `provider "${provider}": field "${field}" is not configured`);
}
