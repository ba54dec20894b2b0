import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { BrokerError } from '../domain/errors';
import type { SecretVersion, VersionedSecretSource } from './secret-source';

export interface KeyVaultSourceOptions {
  /** KEY_VAULT_URL, e.g. https://my-vault.vault.azure.net */
  vaultUrl: string;
  /** Defaults to DefaultAzureCredential (managed identity in Azure, developer login locally). */
  credential?: TokenCredential;
  /** Passed to SecretClient (e.g. `tlsOptions`, `retryOptions`, `disableChallengeResourceVerification`). */
  clientOptions?: SecretClientOptions;
}

function unavailable(name: string, error: unknown): BrokerError {
  const status = (error as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code;
  const reason = status === 404 ? 'was not found' : `could not be read${status ? ` (HTTP ${status}${code ? ` ${code}` : ''})` : ''}`;
  return new BrokerError('SECRET_UNAVAILABLE', `Key Vault secret "${name}" ${reason}`, {
    cause: error,
    transient: status === undefined || status === 429 || status >= 500,
    details: { secretName: name },
  });
}

/**
 * Reads secrets from Azure Key Vault. This module is the only importer of @azure/keyvault-secrets.
 *
 * @see https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret
 */
export function createKeyVaultSecretSource(options: KeyVaultSourceOptions): VersionedSecretSource {
  const client = new SecretClient(options.vaultUrl, options.credential ?? new DefaultAzureCredential(), options.clientOptions);

  async function getSecretVersion(name: string, version?: string): Promise<SecretVersion> {
    try {
      const secret = await client.getSecret(name, version === undefined ? {} : { version });
      if (secret.value === undefined || secret.properties.version === undefined) throw new Error('response without value or version');
      return { value: secret.value, version: secret.properties.version };
    } catch (error) {
      throw unavailable(name, error);
    }
  }

  return {
    getSecret: async (name) => (await getSecretVersion(name)).value,
    getSecretVersion,
    async listSecretVersions(name) {
      const versions: string[] = [];
      try {
        for await (const properties of client.listPropertiesOfSecretVersions(name)) {
          if (properties.enabled !== false && properties.version !== undefined) versions.push(properties.version);
        }
      } catch (error) {
        throw unavailable(name, error);
      }
      return versions;
    },
  };
}
