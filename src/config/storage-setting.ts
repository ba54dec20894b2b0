/**
 * The `AzureWebJobsStorage` setting in each form the Functions host documents
 * (https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity,
 * https://learn.microsoft.com/azure/azure-functions/functions-reference#common-properties-for-identity-based-connections):
 * a connection string in `AzureWebJobsStorage`, or an identity-based connection in
 * `AzureWebJobsStorage__accountName` / `__blobServiceUri` / `__queueServiceUri` / `__tableServiceUri`,
 * with `__credential` and `__clientId` (or `__managedIdentityResourceId`) choosing the identity.
 * As in the host, a connection string wins over the identity properties.
 */
import { BrokerError } from '../domain/errors';
import { isLoopbackHostname } from './url-rules';

type Env = Readonly<Record<string, string | undefined>>;

export const STORAGE_SETTING = 'AzureWebJobsStorage';
export const DEVELOPMENT_STORAGE = 'UseDevelopmentStorage=true';

const SERVICE_URI_PROPERTIES = ['blobServiceUri', 'queueServiceUri', 'tableServiceUri'] as const;
type ServiceUriProperty = (typeof SERVICE_URI_PROPERTIES)[number];

export type StorageSetting =
  /** Unset, or `UseDevelopmentStorage=true`: the local emulator. */
  | { form: 'developmentStorage'; local: true }
  | { form: 'connectionString'; connectionString: string; local: boolean }
  | ({
      form: 'identity';
      /** The first identity property found, for messages. */
      setting: string;
      accountName?: string;
      /** `managedidentity`, or undefined for the host's default credential chain. */
      credential?: string;
      clientId?: string;
      managedIdentityResourceId?: string;
      local: boolean;
    } & Partial<Record<ServiceUriProperty, string>>);

function invalid(setting: string, problem: string): BrokerError {
  return new BrokerError('CONFIG_INVALID', `${setting} ${problem}`, { details: { setting } });
}

function value(env: Env, name: string): string | undefined {
  const text = env[name]?.trim();
  // An unresolved Key Vault reference arrives as its literal text; it is no storage address.
  if (text?.startsWith('@Microsoft.KeyVault(')) throw invalid(name, 'is a Key Vault reference the platform could not resolve');
  return text === '' ? undefined : text;
}

function isLoopbackUrl(text: string): boolean {
  try {
    return isLoopbackHostname(new URL(text).hostname);
  } catch {
    return false;
  }
}

/** A connection string is local when it asks for development storage or every endpoint it names is loopback. */
function connectionStringIsLocal(connectionString: string): boolean {
  if (/(^|;)\s*UseDevelopmentStorage=true\s*(;|$)/i.test(connectionString)) return true;
  const endpoints = [...connectionString.matchAll(/(?:Blob|Queue|Table)Endpoint=([^;]+)/gi)].map((m) => m[1].trim());
  return endpoints.length > 0 && endpoints.every(isLoopbackUrl);
}

function readIdentity(env: Env): StorageSetting | undefined {
  const prop = (name: string): string | undefined => value(env, `${STORAGE_SETTING}__${name}`);
  const accountName = prop('accountName');
  const uris: Partial<Record<ServiceUriProperty, string>> = {};
  for (const name of SERVICE_URI_PROPERTIES) {
    const uri = prop(name);
    if (uri === undefined) continue;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw invalid(`${STORAGE_SETTING}__${name}`, 'must be an absolute URL (e.g. https://account.blob.core.windows.net)');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostname(url.hostname))) {
      throw invalid(`${STORAGE_SETTING}__${name}`, 'must be an https URL (http only on a loopback address)');
    }
    uris[name] = uri;
  }
  const credential = prop('credential');
  const clientId = prop('clientId');
  const managedIdentityResourceId = prop('managedIdentityResourceId');
  const present = ['accountName', ...SERVICE_URI_PROPERTIES, 'credential', 'clientId', 'managedIdentityResourceId'].find((name) => prop(name) !== undefined);
  if (present === undefined) return undefined;
  const setting = `${STORAGE_SETTING}__${present}`;
  if (accountName === undefined && Object.keys(uris).length === 0) {
    throw invalid(setting, `needs ${STORAGE_SETTING}__accountName or the service URIs (${SERVICE_URI_PROPERTIES.map((n) => `${STORAGE_SETTING}__${n}`).join(', ')})`);
  }
  if (credential !== undefined && credential.toLowerCase() !== 'managedidentity') {
    throw invalid(`${STORAGE_SETTING}__credential`, 'must be "managedidentity" when set');
  }
  const serviceUris = Object.values(uris);
  // An account name alone always means the public cloud endpoints: never local.
  const local = accountName === undefined && serviceUris.every(isLoopbackUrl);
  return { form: 'identity', setting, accountName, ...uris, credential, clientId, managedIdentityResourceId, local };
}

/** Reads the storage setting in whichever documented form it is given; unset means development storage. */
export function readStorageSetting(env: Env): StorageSetting {
  const connectionString = value(env, STORAGE_SETTING);
  if (connectionString !== undefined) {
    if (/^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(connectionString)) return { form: 'developmentStorage', local: true };
    return { form: 'connectionString', connectionString, local: connectionStringIsLocal(connectionString) };
  }
  return readIdentity(env) ?? { form: 'developmentStorage', local: true };
}

/**
 * The connection string the broker's local-storage checks understand: development storage, the
 * configured string, or '' for an identity-based connection (which is never development storage).
 */
export function storageConnectionString(setting: StorageSetting): string {
  if (setting.form === 'developmentStorage') return DEVELOPMENT_STORAGE;
  if (setting.form === 'connectionString') return setting.connectionString;
  return '';
}

/** The setting name an operator would look at for this storage form. */
function settingName(setting: StorageSetting): string {
  return setting.form === 'identity' ? setting.setting : STORAGE_SETTING;
}

/**
 * Outside development storage the generated local key must never be used: a real account needs
 * the key from Key Vault (KEY_VAULT_URL) or an explicit BROKER_ENCRYPTION_KEY.
 *
 * @throws BrokerError CONFIG_INVALID naming the storage setting and the settings that would fix it.
 */
export function assertEncryptionKeySource(setting: StorageSetting, keys: { keyVaultUrl?: string; encryptionKey?: Buffer }): void {
  if (setting.local || keys.keyVaultUrl !== undefined || keys.encryptionKey !== undefined) return;
  throw new BrokerError(
    'CONFIG_INVALID',
    `${settingName(setting)} points at a storage account that is not development storage: set KEY_VAULT_URL (or BROKER_ENCRYPTION_KEY), since a generated local encryption key is only for development storage`,
    { details: { setting: 'KEY_VAULT_URL' } },
  );
}
