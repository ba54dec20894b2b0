/**
 * The process-wide wiring: settings, providers, secrets, encryption and tables, built once on first
 * use. Everything with side effects is assembled here and handed to the services as one object.
 */
import { getConfig } from './config';
import { envelopeKeyId, openJson, sealJson } from './crypto';
import { BrokerError } from './domain/errors';
import type { OAuth1ProviderDefinition, ProviderDefinition } from './providers/types';
import { getClientSecret, getEncryptionKeys, getPrivateKey } from './secrets';
import type { Runtime } from './services/runtime';
import { AuthorizationsRepository } from './storage/authorizations-repo';
import { ConnectionsRepository } from './storage/connections-repo';
import type { Sealer } from './storage/sealer';
import { getTableClient, TableNames } from './storage/tables';

export const sealer: Sealer = {
  async seal(value, aad) {
    const keyring = await getEncryptionKeys();
    return { envelope: sealJson(value, keyring.current, aad), keyId: keyring.current.keyId };
  },
  async open<T>(envelope: string, aad: string): Promise<T> {
    const keyring = await getEncryptionKeys({ including: envelopeKeyId(envelope) });
    return openJson<T>(envelope, keyring, aad);
  },
};

let runtime: Promise<Runtime> | undefined;

export function getRuntime(): Promise<Runtime> {
  runtime ??= buildRuntime().catch((error) => {
    runtime = undefined;
    throw error;
  });
  return runtime;
}

async function buildRuntime(): Promise<Runtime> {
  const config = getConfig();
  const [connectionsTable, authorizationsTable] = await Promise.all([
    getTableClient(TableNames.Connections),
    getTableClient(TableNames.Authorizations),
  ]);
  return {
    settings: {
      baseUrl: config.baseUrl,
      authorizationTimeoutSeconds: config.authorizationTimeoutSeconds,
      allowedReturnUrls: config.allowedReturnUrls.map((u) => u.toString()),
    },
    provider(name: string): ProviderDefinition {
      const provider = config.providers.resolve(name);
      if (!provider) throw new BrokerError('UNKNOWN_PROVIDER', `unknown provider "${name}"`);
      return provider;
    },
    configuredProviders: () => config.providers.listConfigured(),
    isConfigured: (name: string) => config.providers.isConfigured(name),
    clientSecret: (provider: ProviderDefinition) => getClientSecret(provider),
    privateKey: (provider: OAuth1ProviderDefinition) => getPrivateKey(provider),
    connections: new ConnectionsRepository(connectionsTable, sealer),
    authorizations: new AuthorizationsRepository(authorizationsTable, sealer),
    now: () => new Date(),
    hasWebhook: (clientId: string) => config.webhooks.has(clientId),
  };
}
