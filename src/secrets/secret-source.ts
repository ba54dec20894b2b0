import { BrokerError } from '../domain/errors';

/** Somewhere secrets are read from by name: settings locally, Key Vault in Azure. */
export interface SecretSource {
  /**
   * The current value of secret `name`.
   * @throws BrokerError SECRET_UNAVAILABLE (transient when the store could not be reached).
   */
  getSecret(name: string): Promise<string>;
}

/** A secret value and the version it came from. */
export interface SecretVersion {
  value: string;
  version: string;
}

/** A store that keeps versions of a secret (Key Vault), which the encryption keyring relies on. */
export interface VersionedSecretSource extends SecretSource {
  /** A given version, or the latest one when `version` is omitted. */
  getSecretVersion(name: string, version?: string): Promise<SecretVersion>;
  /** The ids of the enabled versions of `name`. */
  listSecretVersions(name: string): Promise<string[]>;
}

/**
 * Secrets held in settings (environment variables, which the host fills from
 * local.settings.json): `clientSecretName: "GITHUB_SECRET"` reads the setting GITHUB_SECRET.
 */
export function settingsSecretSource(env: Readonly<Record<string, string | undefined>>): SecretSource {
  return {
    getSecret: async (name) => {
      const value = env[name];
      if (value === undefined || value === '') {
        throw new BrokerError('SECRET_UNAVAILABLE', `setting "${name}" is not set`, { details: { secretName: name } });
      }
      return value;
    },
  };
}
