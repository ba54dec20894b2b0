export { createBrokerSecrets, localKeyId } from './broker-secrets';
export type { BrokerSecrets, BrokerSecretsOptions } from './broker-secrets';
export { cachedSecretSource } from './cached-source';
export { createKeyVaultSecretSource } from './key-vault';
export type { KeyVaultSourceOptions } from './key-vault';
export { settingsSecretSource } from './secret-source';
export type { SecretSource, SecretVersion, VersionedSecretSource } from './secret-source';
