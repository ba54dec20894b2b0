import { randomBytes } from 'node:crypto';
import { clearConfigCache, getConfig, loadConfig } from '../../../src/config';
import { assertEncryptionKeySource, readStorageSetting, storageConnectionString } from '../../../src/config/storage-setting';
import { BrokerError } from '../../../src/domain/errors';
import { createBrokerSecrets } from '../../../src/secrets/broker-secrets';

const AZURITE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;';
const REAL = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net';

function errorOf(run: () => unknown): BrokerError {
  try {
    run();
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected an error');
}

describe('readStorageSetting: every documented form of AzureWebJobsStorage', () => {
  it('when nothing is set, then development storage', () => {
    expect(readStorageSetting({})).toEqual({ form: 'developmentStorage', local: true });
    expect(readStorageSetting({ AzureWebJobsStorage: '' })).toEqual({ form: 'developmentStorage', local: true });
  });

  it('when UseDevelopmentStorage=true, then development storage', () => {
    expect(readStorageSetting({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toEqual({ form: 'developmentStorage', local: true });
  });

  it('when a connection string names only loopback endpoints (an emulator), then it is local', () => {
    expect(readStorageSetting({ AzureWebJobsStorage: AZURITE })).toEqual({ form: 'connectionString', connectionString: AZURITE, local: true });
  });

  it('when a connection string names a real account, or any non-loopback endpoint, then it is not local', () => {
    expect(readStorageSetting({ AzureWebJobsStorage: REAL })).toMatchObject({ form: 'connectionString', local: false });
    const mixed = 'AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/a;TableEndpoint=https://a.table.core.windows.net';
    expect(readStorageSetting({ AzureWebJobsStorage: mixed })).toMatchObject({ form: 'connectionString', local: false });
    // The emulator's account name on Azure's endpoints is still Azure.
    expect(readStorageSetting({ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=a2V5' })).toMatchObject({ local: false });
  });

  it('when only AzureWebJobsStorage__accountName is set (as infra/ deploys it), then an identity connection to a real account', () => {
    expect(readStorageSetting({ AzureWebJobsStorage__accountName: 'stbroker' })).toEqual({
      form: 'identity',
      setting: 'AzureWebJobsStorage__accountName',
      accountName: 'stbroker',
      local: false,
    });
  });

  it('when the service URIs are set, then an identity connection; local only if every URI is loopback', () => {
    const real = {
      AzureWebJobsStorage__blobServiceUri: 'https://st.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://st.queue.core.windows.net',
      AzureWebJobsStorage__tableServiceUri: 'https://st.table.core.windows.net',
    };
    expect(readStorageSetting(real)).toEqual({
      form: 'identity',
      setting: 'AzureWebJobsStorage__blobServiceUri',
      blobServiceUri: 'https://st.blob.core.windows.net',
      queueServiceUri: 'https://st.queue.core.windows.net',
      tableServiceUri: 'https://st.table.core.windows.net',
      local: false,
    });
    const emulator = { AzureWebJobsStorage__blobServiceUri: 'http://127.0.0.1:10000/devstoreaccount1', AzureWebJobsStorage__queueServiceUri: 'http://localhost:10001/devstoreaccount1' };
    expect(readStorageSetting(emulator)).toMatchObject({ form: 'identity', local: true });
  });

  it('when __credential and __clientId choose a user-assigned identity, then both are kept', () => {
    const setting = readStorageSetting({
      AzureWebJobsStorage__accountName: 'st',
      AzureWebJobsStorage__tableServiceUri: 'https://st.table.core.windows.net',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
    });
    expect(setting).toMatchObject({ form: 'identity', credential: 'managedidentity', clientId: '00000000-0000-0000-0000-000000000001', local: false });
  });

  it('when a connection string and identity properties are both set, then the connection string wins (as in the host)', () => {
    expect(readStorageSetting({ AzureWebJobsStorage: AZURITE, AzureWebJobsStorage__accountName: 'st' })).toMatchObject({ form: 'connectionString', local: true });
  });

  it('when identity properties name no account or service URI, then CONFIG_INVALID naming the setting', () => {
    const error = errorOf(() => readStorageSetting({ AzureWebJobsStorage__clientId: 'abc', AzureWebJobsStorage__credential: 'managedidentity' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(
      'AzureWebJobsStorage__credential needs AzureWebJobsStorage__accountName or the service URIs (AzureWebJobsStorage__blobServiceUri, AzureWebJobsStorage__queueServiceUri, AzureWebJobsStorage__tableServiceUri)',
    );
  });

  it('when __credential is not managedidentity, then CONFIG_INVALID naming __credential', () => {
    const error = errorOf(() => readStorageSetting({ AzureWebJobsStorage__accountName: 'st', AzureWebJobsStorage__credential: 'clientsecret' }));
    expect(error.details).toEqual({ setting: 'AzureWebJobsStorage__credential' });
    expect(error.message).toBe('AzureWebJobsStorage__credential must be "managedidentity" when set');
  });

  it('when a service URI is not a URL, or plain http off loopback, then CONFIG_INVALID naming it', () => {
    expect(errorOf(() => readStorageSetting({ AzureWebJobsStorage__tableServiceUri: 'st.table' })).message).toBe(
      'AzureWebJobsStorage__tableServiceUri must be an absolute URL (e.g. https://account.blob.core.windows.net)',
    );
    expect(errorOf(() => readStorageSetting({ AzureWebJobsStorage__blobServiceUri: 'http://st.blob.core.windows.net' })).message).toBe(
      'AzureWebJobsStorage__blobServiceUri must be an https URL (http only on a loopback address)',
    );
  });

  it('when the setting is an unresolved Key Vault reference, then CONFIG_INVALID', () => {
    const error = errorOf(() => readStorageSetting({ AzureWebJobsStorage: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/st/)' }));
    expect(error.message).toBe('AzureWebJobsStorage is a Key Vault reference the platform could not resolve');
  });
});

describe('storageConnectionString', () => {
  it('is development storage, the string as given, or empty for an identity connection', () => {
    expect(storageConnectionString(readStorageSetting({}))).toBe('UseDevelopmentStorage=true');
    expect(storageConnectionString(readStorageSetting({ AzureWebJobsStorage: REAL }))).toBe(REAL);
    expect(storageConnectionString(readStorageSetting({ AzureWebJobsStorage__accountName: 'st' }))).toBe('');
  });
});

describe('assertEncryptionKeySource', () => {
  const key = randomBytes(32);

  it('when storage is local, then no key source is needed (the local host generates one)', () => {
    expect(() => assertEncryptionKeySource(readStorageSetting({}), {})).not.toThrow();
    expect(() => assertEncryptionKeySource(readStorageSetting({ AzureWebJobsStorage: AZURITE }), {})).not.toThrow();
  });

  it('when storage is a real account and Key Vault or an explicit key is set, then it passes', () => {
    const identity = readStorageSetting({ AzureWebJobsStorage__accountName: 'st' });
    expect(() => assertEncryptionKeySource(identity, { keyVaultUrl: 'https://kv.vault.azure.net' })).not.toThrow();
    expect(() => assertEncryptionKeySource(identity, { encryptionKey: key })).not.toThrow();
  });

  it('when storage is an identity connection without Key Vault or key, then CONFIG_INVALID naming the storage setting and the fix', () => {
    const error = errorOf(() => assertEncryptionKeySource(readStorageSetting({ AzureWebJobsStorage__accountName: 'st' }), {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(
      'AzureWebJobsStorage__accountName points at a storage account that is not development storage: set KEY_VAULT_URL (or BROKER_ENCRYPTION_KEY), since a generated local encryption key is only for development storage',
    );
  });

  it('when storage is a real connection string without Key Vault or key, then CONFIG_INVALID naming AzureWebJobsStorage', () => {
    const error = errorOf(() => assertEncryptionKeySource(readStorageSetting({ AzureWebJobsStorage: REAL }), {}));
    expect(error.message).toMatch(/^AzureWebJobsStorage points at a storage account that is not development storage/);
  });
});

describe('the process settings (getConfig) with identity-based storage', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    clearConfigCache();
  });

  it('when infra/ deploys AzureWebJobsStorage__accountName without Key Vault or key, then the broker refuses to start', () => {
    delete process.env.AzureWebJobsStorage;
    delete process.env.KEY_VAULT_URL;
    delete process.env.BROKER_ENCRYPTION_KEY;
    process.env.AzureWebJobsStorage__accountName = 'stbroker';
    expect(errorOf(() => getConfig()).message).toMatch(/^AzureWebJobsStorage__accountName points at a storage account that is not development storage/);
  });

  it('when KEY_VAULT_URL is set as infra/ deploys it, then the settings load', () => {
    delete process.env.AzureWebJobsStorage;
    delete process.env.BROKER_ENCRYPTION_KEY;
    process.env.AzureWebJobsStorage__accountName = 'stbroker';
    process.env.KEY_VAULT_URL = 'https://kv-broker.vault.azure.net/';
    expect(getConfig().keyVaultUrl).toBe('https://kv-broker.vault.azure.net');
  });
});

describe('the local generated key is never used against a real account', () => {
  it('when storage is identity-based and no key is configured, then the broker secrets have no key instead of generating one', async () => {
    const config = loadConfig({ AzureWebJobsStorage__accountName: 'stbroker' });
    expect(config.storageConnectionString).toBe('');
    await expect(createBrokerSecrets({ config, env: {} }).getEncryptionKeys()).rejects.toMatchObject({ code: 'SECRET_UNAVAILABLE' });
  });
});
