import { randomBytes } from 'node:crypto';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { loadConfig } from '../../src/config';
import { decrypt, encrypt } from '../../src/crypto';
import { BrokerError } from '../../src/domain/errors';
import { createBrokerSecrets, createKeyVaultSecretSource, localKeyId } from '../../src/secrets';
import { startFakeKeyVault, type FakeKeyVault } from '../support/keyvault/fake-key-vault';

/** A static credential: the peer under test is the vault, not Entra ID. */
function staticCredential(token: string, scopesAsked: string[][]): TokenCredential {
  return {
    async getToken(scopes): Promise<AccessToken> {
      scopesAsked.push(Array.isArray(scopes) ? scopes : [scopes]);
      return { token, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
}

let vault: FakeKeyVault;
const scopesAsked: string[][] = [];

function source() {
  return createKeyVaultSecretSource({
    vaultUrl: vault.url,
    credential: staticCredential(vault.token, scopesAsked),
    // The fake vault's certificate is self-signed and its challenge names vault.azure.net, not 127.0.0.1.
    clientOptions: { tlsOptions: { ca: vault.caPem }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
  });
}

async function errorOf(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected an error');
}

beforeAll(async () => {
  vault = await startFakeKeyVault();
});
afterAll(async () => {
  await vault.close();
});

describe('Key Vault secret source (against a local HTTPS Key Vault)', () => {
  it('when a secret exists, then its value is read after the bearer challenge, with the token from the credential', async () => {
    vault.addVersion('github-secret', 'gh-client-secret');
    const before = vault.requests.length;
    expect(await source().getSecret('github-secret')).toBe('gh-client-secret');
    const seen = vault.requests.slice(before);
    expect(seen[0].authorization).toBeUndefined();
    expect(seen.at(-1)).toMatchObject({ method: 'GET', authorization: `Bearer ${vault.token}` });
    // the SDK percent-encodes the hyphen (api%2Dversion); both decode to api-version
    expect(new URL(seen.at(-1)?.path ?? '', vault.url).pathname).toMatch(/^\/secrets\/github-secret\/?$/);
    expect(new URL(seen.at(-1)?.path ?? '', vault.url).searchParams.get('api-version')).toMatch(/^\d{4}-\d{2}-\d{2}$|^7\.\d$/);
    expect(scopesAsked.at(-1)).toEqual(['https://vault.azure.net/.default']);
  });

  it('when the secret does not exist, then SECRET_UNAVAILABLE, not transient', async () => {
    const error = await errorOf(source().getSecret('missing-secret'));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).toBe('Key Vault secret "missing-secret" was not found');
    expect(error.transient).toBe(false);
  });

  it('reads a given version and lists the enabled versions', async () => {
    const v1 = vault.addVersion('rotating', 'one');
    vault.addVersion('rotating', 'disabled', { enabled: false });
    const v3 = vault.addVersion('rotating', 'three');
    const kv = source();
    expect(await kv.getSecretVersion('rotating', v1)).toEqual({ value: 'one', version: v1 });
    expect(await kv.getSecretVersion('rotating')).toEqual({ value: 'three', version: v3 });
    expect(await kv.listSecretVersions('rotating')).toEqual([v1, v3]);
  });

  it('when the vault cannot be reached, then SECRET_UNAVAILABLE marked transient', async () => {
    const unreachable = createKeyVaultSecretSource({
      vaultUrl: 'https://127.0.0.1:1',
      credential: staticCredential('t', []),
      clientOptions: { retryOptions: { maxRetries: 0 } },
    });
    const error = await errorOf(unreachable.getSecret('any'));
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.transient).toBe(true);
  });
});

describe('broker secrets with Key Vault', () => {
  const config = loadConfig({ KEY_VAULT_URL: 'https://placeholder.vault.azure.net', BROKER_ENCRYPTION_KEY_NAME: 'broker-key' });
  const provider = { name: 'acme', clientSecretName: 'acme-secret' } as Parameters<ReturnType<typeof createBrokerSecrets>['getClientSecret']>[0];

  it('resolves clientSecretName through Key Vault, caching it and coalescing concurrent misses', async () => {
    vault.addVersion('acme-secret', 'acme-value');
    let now = 0;
    const secrets = createBrokerSecrets({ config, keyVault: source(), ttlMs: 1000, now: () => now });
    const count = () => vault.requests.filter((r) => r.path.startsWith('/secrets/acme-secret') && r.authorization).length;
    const before = count();
    expect(await Promise.all([1, 2, 3].map(() => secrets.getClientSecret(provider)))).toEqual(['acme-value', 'acme-value', 'acme-value']);
    expect(count() - before).toBe(1);
    await secrets.getClientSecret(provider);
    expect(count() - before).toBe(1);
    now = 1001;
    await secrets.getClientSecret(provider);
    expect(count() - before).toBe(2);
  });

  it('returns an inline clientSecret without asking the vault', async () => {
    const before = vault.requests.length;
    const secrets = createBrokerSecrets({ config, keyVault: source() });
    expect(await secrets.getClientSecret({ ...provider, clientSecret: 'inline', clientSecretName: undefined })).toBe('inline');
    expect(vault.requests.length).toBe(before);
  });

  it('builds the keyring from the key versions: the latest encrypts, enabled older ones still decrypt', async () => {
    const oldKey = randomBytes(32);
    const oldVersion = vault.addVersion('broker-key', oldKey.toString('base64'));
    const sealedBefore = encrypt('refresh-token', { keyId: oldVersion, key: oldKey }, 'conn-1');
    const newVersion = vault.addVersion('broker-key', randomBytes(32).toString('base64'));
    const keyring = await createBrokerSecrets({ config, keyVault: source() }).getEncryptionKeys();
    expect(keyring.current.keyId).toBe(newVersion);
    expect([...keyring.byId.keys()].sort()).toEqual([oldVersion, newVersion].sort());
    expect(decrypt(sealedBefore, keyring, 'conn-1').toString()).toBe('refresh-token');
  });

  it('when an envelope names a key version newer than the cached keyring, then the keyring is reloaded', async () => {
    vault.addVersion('key-b', randomBytes(32).toString('base64'));
    const secrets = createBrokerSecrets({ config: { ...config, encryptionKeySecretName: 'key-b' }, keyVault: source() });
    const first = await secrets.getEncryptionKeys();
    const newer = vault.addVersion('key-b', randomBytes(32).toString('base64'));
    expect(await secrets.getEncryptionKeys()).toBe(first);
    const reloaded = await secrets.getEncryptionKeys({ including: newer });
    expect(reloaded.current.keyId).toBe(newer);
  });

  it('when the key secret is not 32 bytes of base64, then SECRET_UNAVAILABLE without the value', async () => {
    vault.addVersion('bad-key', 'c2hvcnQ=');
    const secrets = createBrokerSecrets({ config: { ...config, encryptionKeySecretName: 'bad-key' }, keyVault: source() });
    const error = await errorOf(secrets.getEncryptionKeys());
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).not.toContain('c2hvcnQ');
  });
});

describe('broker secrets without Key Vault (settings)', () => {
  const key = randomBytes(32);
  const previous = randomBytes(32);
  const config = loadConfig({ BROKER_ENCRYPTION_KEY: key.toString('base64'), BROKER_PREVIOUS_ENCRYPTION_KEYS: previous.toString('base64') });
  const secrets = createBrokerSecrets({ config, env: { ACME_SECRET: 'from-settings' } });

  it('resolves clientSecretName from the setting of that name', async () => {
    expect(await secrets.getClientSecret({ name: 'acme', clientSecretName: 'ACME_SECRET' } as never)).toBe('from-settings');
  });

  it('when the named setting is missing, then SECRET_UNAVAILABLE naming it', async () => {
    const error = await errorOf(secrets.getClientSecret({ name: 'acme', clientSecretName: 'NOPE' } as never));
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).toBe('setting "NOPE" is not set');
  });

  it('when a provider has neither form, then SECRET_UNAVAILABLE naming the provider', async () => {
    const error = await errorOf(secrets.getClientSecret({ name: 'acme' } as never));
    expect(error.message).toBe('provider "acme" has no client secret configured');
  });

  it('returns an inline RSA private key, and refuses it for OAuth 2.0 providers', async () => {
    expect(await secrets.getPrivateKey({ name: 'l', protocol: 'oauth1', privateKey: 'PEM' } as never)).toBe('PEM');
    expect((await errorOf(secrets.getPrivateKey({ name: 'o', protocol: 'oauth2' } as never))).code).toBe('SECRET_UNAVAILABLE');
  });

  it('uses BROKER_ENCRYPTION_KEY with a digest-derived id, keeping previous keys for decryption', async () => {
    const keyring = await secrets.getEncryptionKeys();
    expect(keyring.current).toEqual({ keyId: localKeyId(key), key });
    expect(keyring.current.keyId).toMatch(/^local-[0-9a-f]{8}$/);
    const old = encrypt('x', { keyId: localKeyId(previous), key: previous }, 'c');
    expect(decrypt(old, keyring, 'c').toString()).toBe('x');
  });

  it('when no key is configured and storage is a real account, then SECRET_UNAVAILABLE', async () => {
    const config = loadConfig({ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net' });
    const error = await errorOf(createBrokerSecrets({ config, env: {} }).getEncryptionKeys());
    expect(error.code).toBe('SECRET_UNAVAILABLE');
    expect(error.message).toBe('no encryption key: set BROKER_ENCRYPTION_KEY or KEY_VAULT_URL');
  });
});
