import { createHash } from 'node:crypto';
import type { BrokerConfig, Env } from '../config';
import { createKeyring, type EncryptionKey, type Keyring } from '../crypto/envelope';
import { BrokerError } from '../domain/errors';
import type { ProviderDefinition } from '../providers/types';
import { cachedSecretSource } from './cached-source';
import { isLocalStorage, loadOrCreateLocalKey } from './local-key';
import { createKeyVaultSecretSource } from './key-vault';
import { type SecretSource, settingsSecretSource, type VersionedSecretSource } from './secret-source';
import { SECRET_CACHE_TTL_MS, ttlCache } from './ttl-cache';

/** The secrets the broker needs, from Key Vault when KEY_VAULT_URL is set, else from settings. */
export interface BrokerSecrets {
  /** The provider's client secret: inline `clientSecret`, else the secret named by `clientSecretName`. */
  getClientSecret(provider: ProviderDefinition): Promise<string>;
  /** The RSA-SHA1 private key (PEM): inline `privateKey`, else the secret named by `privateKeyName`. */
  getPrivateKey(provider: ProviderDefinition): Promise<string>;
  /**
   * The encryption keyring: the current key to encrypt with and every enabled older key by id.
   * @param including a key id met in an envelope; if the cached keyring lacks it, it is reloaded
   *   (another instance may have started using a newer key version).
   */
  getEncryptionKeys(options?: { including?: string }): Promise<Keyring>;
}

export interface BrokerSecretsOptions {
  config: BrokerConfig;
  /** Settings that `*Name` fields refer to when Key Vault is not configured. */
  env?: Env;
  /** Overrides the Key Vault source built from `config.keyVaultUrl` (tests, custom credentials). */
  keyVault?: VersionedSecretSource;
  ttlMs?: number;
  now?: () => number;
}

const ENCRYPTION_KEY_BYTES = 32;

/** Local keys are named by their digest, so a row says which key sealed it without revealing it. */
export function localKeyId(key: Buffer): string {
  return `local-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}

function decodeVaultKey(name: string, value: string): Buffer {
  const key = Buffer.from(value.trim(), 'base64');
  if (key.length !== ENCRYPTION_KEY_BYTES) {
    throw new BrokerError('SECRET_UNAVAILABLE', `Key Vault secret "${name}" must hold the base64 encoding of ${ENCRYPTION_KEY_BYTES} bytes`);
  }
  return key;
}

async function loadVaultKeyring(vault: VersionedSecretSource, name: string): Promise<Keyring> {
  const latest = await vault.getSecretVersion(name);
  const current: EncryptionKey = { keyId: latest.version, key: decodeVaultKey(name, latest.value) };
  const older = (await vault.listSecretVersions(name)).filter((version) => version !== latest.version);
  const previous = await Promise.all(
    older.map(async (version) => ({ keyId: version, key: decodeVaultKey(name, (await vault.getSecretVersion(name, version)).value) })),
  );
  return createKeyring(current, previous);
}

function localKeyring(config: BrokerConfig): Keyring {
  const named = (key: Buffer): EncryptionKey => ({ keyId: localKeyId(key), key });
  let current = config.encryptionKey;
  if (!current && isLocalStorage(config.storageConnectionString)) current = loadOrCreateLocalKey();
  if (!current) {
    throw new BrokerError('SECRET_UNAVAILABLE', 'no encryption key: set BROKER_ENCRYPTION_KEY or KEY_VAULT_URL');
  }
  return createKeyring(named(current), config.previousEncryptionKeys.map(named));
}

/** Builds the broker's secret access for one configuration. */
export function createBrokerSecrets(options: BrokerSecretsOptions): BrokerSecrets {
  const { config } = options;
  const ttlMs = options.ttlMs ?? SECRET_CACHE_TTL_MS;
  const vault = options.keyVault ?? (config.keyVaultUrl ? createKeyVaultSecretSource({ vaultUrl: config.keyVaultUrl }) : undefined);
  const named: SecretSource = cachedSecretSource(vault ?? settingsSecretSource(options.env ?? process.env), ttlMs, options.now);
  const keyrings = ttlCache(
    async (name) => (vault ? loadVaultKeyring(vault, name) : localKeyring(config)),
    ttlMs,
    options.now,
  );

  async function inlineOrNamed(provider: ProviderDefinition, inline: string | undefined, name: string | undefined, what: string): Promise<string> {
    if (inline !== undefined) return inline;
    if (name !== undefined) return named.getSecret(name);
    throw new BrokerError('SECRET_UNAVAILABLE', `provider "${provider.name}" has no ${what} configured`, { details: { provider: provider.name } });
  }

  return {
    getClientSecret: (provider) => inlineOrNamed(provider, provider.clientSecret, provider.clientSecretName, 'client secret'),
    getPrivateKey: (provider) =>
      provider.protocol === 'oauth1'
        ? inlineOrNamed(provider, provider.privateKey, provider.privateKeyName, 'private key')
        : Promise.reject(new BrokerError('SECRET_UNAVAILABLE', `provider "${provider.name}" is not an OAuth 1.0a provider`)),
    async getEncryptionKeys({ including } = {}) {
      const name = config.encryptionKeySecretName;
      const keyring = await keyrings.get(name);
      if (including === undefined || keyring.byId.has(including)) return keyring;
      keyrings.invalidate(name);
      return keyrings.get(name);
    },
  };
}
