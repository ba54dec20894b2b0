import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authenticateClient,
  clearConfigCache,
  getConfig,
  isAllowedReturnUrl,
  isOperatorKey,
  isReturnUrlAllowed,
  loadConfig,
  probeSchedule,
} from '../../../src/config';
import { BrokerError } from '../../../src/domain/errors';
import { callbackUrl } from '../../../src/services/runtime';

const key32 = randomBytes(32).toString('base64');

function errorOf(run: () => unknown): BrokerError {
  try {
    run();
  } catch (error) {
    return error as BrokerError;
  }
  throw new Error('expected an error');
}

describe('loadConfig', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      storageConnectionString: 'UseDevelopmentStorage=true',
      baseUrl: 'http://localhost:7071',
      authorizationTimeoutSeconds: 600,
      allowedReturnUrls: [],
      clientKeys: [],
      previousEncryptionKeys: [],
      encryptionKeySecretName: 'broker-encryption-key',
    });
    expect(config.keyVaultUrl).toBeUndefined();
    expect(config.encryptionKey).toBeUndefined();
    expect(config.operatorKeyHash).toBeUndefined();
    expect(config.providers.listConfigured()).toEqual([]);
  });

  it('treats empty strings (as in local.settings.json) as unset', () => {
    expect(loadConfig({ BROKER_BASE_URL: '', BROKER_PROVIDERS: '', KEY_VAULT_URL: '', BROKER_AUTHORIZATION_TIMEOUT_SECONDS: '' }).baseUrl).toBe(
      'http://localhost:7071',
    );
  });

  it('reads every setting', () => {
    const config = loadConfig({
      AzureWebJobsStorage: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1',
      BROKER_BASE_URL: 'https://broker.example/',
      KEY_VAULT_URL: 'https://my-vault.vault.azure.net/',
      BROKER_ENCRYPTION_KEY: key32,
      BROKER_ALLOWED_RETURN_URLS: 'https://app.example/done/, http://localhost:3000/',
      BROKER_AUTHORIZATION_TIMEOUT_SECONDS: '90',
      // A real account (not the emulator's), so the production rules apply: a long key.
      BROKER_CLIENT_KEYS: 'app1:KEY1-0123456789abcdef0123456789abcdef',
      BROKER_WEBHOOK_URLS: 'app1=https://app.example/hooks?x=1',
      BROKER_WEBHOOK_SECRETS: 'app1=whsec',
    });
    expect(config.baseUrl).toBe('https://broker.example');
    expect(config.keyVaultUrl).toBe('https://my-vault.vault.azure.net');
    expect(config.encryptionKey?.toString('base64')).toBe(key32);
    expect(config.allowedReturnUrls.map(String)).toEqual(['https://app.example/done/', 'http://localhost:3000/']);
    expect(config.authorizationTimeoutSeconds).toBe(90);
    expect(config.webhooks.get('app1')).toEqual({ url: 'https://app.example/hooks?x=1', secrets: ['whsec'] });
    expect(callbackUrl(config, 'github')).toBe('https://broker.example/api/callback/github');
  });

  it('reads several webhook secrets newest first, and the retry schedule (a day from 5 s, capped at an hour, by default)', () => {
    const env = { BROKER_CLIENT_KEYS: 'app1:KEY1', BROKER_WEBHOOK_URLS: 'app1=https://app.example/hooks', BROKER_WEBHOOK_SECRETS: 'app1=whsec_bmV3 whsec_b2xk' };
    expect(loadConfig(env).webhooks.get('app1')?.secrets).toEqual(['whsec_bmV3', 'whsec_b2xk']);
    expect(loadConfig(env).webhookRetry).toEqual({ firstIntervalSeconds: 5, maxIntervalSeconds: 3_600, retryForSeconds: 86_400 });
    const scaled = loadConfig({ BROKER_WEBHOOK_RETRY_FIRST_SECONDS: '1', BROKER_WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: '2', BROKER_WEBHOOK_RETRY_FOR_SECONDS: '5' });
    expect(scaled.webhookRetry).toEqual({ firstIntervalSeconds: 1, maxIntervalSeconds: 2, retryForSeconds: 5 });
  });

  it('merges BROKER_PROVIDERS over BROKER_PROVIDERS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-config-'));
    const file = join(dir, 'providers.json');
    writeFileSync(file, JSON.stringify({ github: { clientId: 'from-file', clientSecret: 's' }, trello: { clientId: 'k', clientSecret: 's' } }));
    const config = loadConfig({ BROKER_PROVIDERS_FILE: file, BROKER_PROVIDERS: JSON.stringify({ github: { clientId: 'inline' } }) });
    expect(config.providers.resolve('github')?.clientId).toBe('inline');
    expect(config.providers.listConfigured().map((p) => [p.name, p.protocol, p.displayName])).toEqual([
      ['github', 'oauth2', 'GitHub'],
      ['trello', 'oauth1', 'Trello'],
    ]);
  });

  it.each<[Record<string, string>, string, string]>([
    [{ BROKER_ENCRYPTION_KEY: randomBytes(16).toString('base64') }, 'BROKER_ENCRYPTION_KEY', 'exactly 32 bytes'],
    [{ BROKER_ENCRYPTION_KEY: 'not base64 at all!!' }, 'BROKER_ENCRYPTION_KEY', 'exactly 32 bytes'],
    [{ BROKER_BASE_URL: 'localhost:7071' }, 'BROKER_BASE_URL', 'absolute http(s) URL'],
    [{ BROKER_BASE_URL: 'https://b.example/?q=1' }, 'BROKER_BASE_URL', 'without query'],
    [{ KEY_VAULT_URL: 'http://vault.example' }, 'KEY_VAULT_URL', 'https URL'],
    [{ BROKER_AUTHORIZATION_TIMEOUT_SECONDS: '0' }, 'BROKER_AUTHORIZATION_TIMEOUT_SECONDS', 'positive integer'],
    [{ BROKER_AUTHORIZATION_TIMEOUT_SECONDS: '1.5' }, 'BROKER_AUTHORIZATION_TIMEOUT_SECONDS', 'positive integer'],
    [{ BROKER_ALLOWED_RETURN_URLS: 'https://ok.example/,/relative' }, 'BROKER_ALLOWED_RETURN_URLS', 'entry 2 must be an absolute http(s) URL'],
    [{ BROKER_CLIENT_KEYS: 'app 1:KEY' }, 'BROKER_CLIENT_KEYS', 'entry 1 has an invalid client id'],
    [{ BROKER_CLIENT_KEYS: 'app1' }, 'BROKER_CLIENT_KEYS', 'client "app1" has no key'],
    [{ BROKER_CLIENT_KEYS: 'app1:SAME,app2:SAME' }, 'BROKER_CLIENT_KEYS', 'clients "app1" and "app2" share a key'],
    [{ BROKER_PROVIDERS: '{not json' }, 'BROKER_PROVIDERS', 'is not valid JSON'],
    [{ BROKER_PROVIDERS_FILE: '/nonexistent/providers.json' }, 'BROKER_PROVIDERS_FILE', 'cannot read'],
    [{ BROKER_CLIENT_KEYS: 'app1:K', BROKER_WEBHOOK_URLS: 'app2=https://h.example' }, 'BROKER_WEBHOOK_URLS', 'names client "app2"'],
    [{ BROKER_CLIENT_KEYS: 'app1:K', BROKER_WEBHOOK_URLS: 'app1=http://h.example' }, 'BROKER_WEBHOOK_URLS', 'must use https'],
    [{ BROKER_CLIENT_KEYS: 'app1:K', BROKER_WEBHOOK_URLS: 'app1=https://h.example' }, 'BROKER_WEBHOOK_SECRETS', 'needs a secret for client "app1"'],
    [{ BROKER_CLIENT_KEYS: 'app1:K', BROKER_WEBHOOK_URLS: 'app1=https://h.example', BROKER_WEBHOOK_SECRETS: 'app1=whsec_!!' }, 'BROKER_WEBHOOK_SECRETS', 'not followed by base64'],
    [{ BROKER_WEBHOOK_RETRY_FIRST_SECONDS: '0' }, 'BROKER_WEBHOOK_RETRY_FIRST_SECONDS', 'positive integer'],
    [{ BROKER_WEBHOOK_RETRY_FIRST_SECONDS: '60', BROKER_WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: '30' }, 'BROKER_WEBHOOK_RETRY_MAX_INTERVAL_SECONDS', 'must not be less than'],
  ])('when %j, then CONFIG_INVALID names %s', (env, setting, problem) => {
    const error = errorOf(() => loadConfig(env));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message.startsWith(setting)).toBe(true);
    expect(error.message).toContain(problem);
  });

  it('when a provider definition is invalid, then PROVIDER_INVALID names provider and field', () => {
    const error = errorOf(() => loadConfig({ BROKER_PROVIDERS: JSON.stringify({ acme: { protocol: 'oauth2', tokenUrl: 5 } }) }));
    expect(error.code).toBe('PROVIDER_INVALID');
    expect(error.message).toBe('provider "acme": field "tokenUrl" must be a non-empty string (BROKER_PROVIDERS)');
  });

  it('never keeps plain API keys in memory', () => {
    const config = loadConfig({ BROKER_CLIENT_KEYS: 'app1:plain-client-key', BROKER_OPERATOR_KEY: 'plain-operator-key' });
    const seen = JSON.stringify(config, (_k, v) => (Buffer.isBuffer(v) || v?.type === 'Buffer' ? Buffer.from(v).toString('latin1') : v));
    expect(seen).not.toContain('plain-client-key');
    expect(seen).not.toContain('plain-operator-key');
  });
});

describe('API keys', () => {
  const hashedKey = createHash('sha256').update('KEY3').digest('hex');
  const config = loadConfig({
    BROKER_CLIENT_KEYS: `app1:KEY1, app2:KEY2:with-colon ,app1:KEY1-next,app3:sha256:${hashedKey}`,
    BROKER_OPERATOR_KEY: 'OPS',
  });

  it('authenticateClient returns the client owning the key, including hashed-at-rest and rotated keys', () => {
    expect(authenticateClient('KEY1', config)).toBe('app1');
    expect(authenticateClient('KEY1-next', config)).toBe('app1');
    expect(authenticateClient('KEY2:with-colon', config)).toBe('app2');
    expect(authenticateClient('KEY3', config)).toBe('app3');
  });

  it('authenticateClient returns undefined for a wrong, empty or missing key', () => {
    expect(authenticateClient('KEY', config)).toBeUndefined();
    expect(authenticateClient(`sha256:${hashedKey}`, config)).toBeUndefined();
    expect(authenticateClient('', config)).toBeUndefined();
    expect(authenticateClient(undefined, config)).toBeUndefined();
  });

  it('isOperatorKey accepts only the operator key', () => {
    expect(isOperatorKey('OPS', config)).toBe(true);
    expect(isOperatorKey('KEY1', config)).toBe(false);
    expect(isOperatorKey(undefined, config)).toBe(false);
    expect(isOperatorKey('OPS', loadConfig({}))).toBe(false);
  });

  it('accepts an operator key hashed at rest', () => {
    const hashed = loadConfig({ BROKER_OPERATOR_KEY: `sha256:${createHash('sha256').update('OPS').digest('hex')}` });
    expect(isOperatorKey('OPS', hashed)).toBe(true);
  });
});

describe('isReturnUrlAllowed', () => {
  const allow = ['https://app.example/done/', 'http://localhost:3000/cb'];

  it.each([
    ['https://app.example/done/', true],
    ['https://app.example/done/page?x=1#f', true],
    ['http://localhost:3000/cb?state=ok', true],
    ['http://localhost:3000/cbx', true], // the contract's plain prefix rule
    ['https://app.example/other', false],
    ['https://app.example/done/../admin', false],
    ['https://app.example/done/%2e%2e/admin', false],
    ['http://app.example/done/', false],
    ['https://app.example:8443/done/', false],
    ['https://app.example.evil.example/done/', false],
    ['https://user:pass@app.example/done/', false],
    ['javascript:alert(1)//https://app.example/done/', false],
    ['/done/', false],
    ['not a url', false],
  ])('%s → %s', (candidate, allowed) => {
    expect(isReturnUrlAllowed(candidate, allow)).toBe(allowed);
  });

  it('allows nothing when the list is empty', () => {
    expect(isAllowedReturnUrl('https://app.example/done/', loadConfig({}))).toBe(false);
  });
});

describe('getConfig', () => {
  const saved = process.env.BROKER_BASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.BROKER_BASE_URL;
    else process.env.BROKER_BASE_URL = saved;
    clearConfigCache();
  });

  it('reads process.env once and caches the result until cleared', () => {
    clearConfigCache();
    process.env.BROKER_BASE_URL = 'https://first.example';
    const first = getConfig();
    process.env.BROKER_BASE_URL = 'https://second.example';
    expect(getConfig()).toBe(first);
    expect(first.baseUrl).toBe('https://first.example');
    clearConfigCache();
    expect(getConfig().baseUrl).toBe('https://second.example');
  });
});

test('when a setting holds an unresolved Key Vault reference, then start-up fails naming the setting', () => {
  const { loadConfig } = require('../../../src/config');
  expect(() =>
    loadConfig({ BROKER_OPERATOR_KEY: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/op/)' }),
  ).toThrow(/BROKER_OPERATOR_KEY is a Key Vault reference/);
});

describe('outside local development storage, unsafe settings refuse to start and name the setting', () => {
  const REAL = 'DefaultEndpointsProtocol=https;AccountName=brokerprod;AccountKey=a2V5;EndpointSuffix=core.windows.net';
  const LONG = 'client-key-0123456789abcdef0123456789';
  const OPERATOR = 'operator-key-0123456789abcdef0123456789';
  const safe = { AzureWebJobsStorage: REAL, BROKER_BASE_URL: 'https://broker.example', BROKER_CLIENT_KEYS: `app1:${LONG}`, BROKER_OPERATOR_KEY: OPERATOR };

  it.each([
    ['a plain-http base URL', { BROKER_BASE_URL: 'http://broker.example' }, 'BROKER_BASE_URL'],
    ['a plain-http return URL', { BROKER_ALLOWED_RETURN_URLS: 'https://app.example/ok,http://app.example/done' }, 'BROKER_ALLOWED_RETURN_URLS'],
    ['a client key shorter than 32 characters', { BROKER_CLIENT_KEYS: `app1:${LONG},app2:short-key` }, 'BROKER_CLIENT_KEYS'],
    ['an operator key shorter than 32 characters', { BROKER_OPERATOR_KEY: 'operator-0123' }, 'BROKER_OPERATOR_KEY'],
    ['the sample client key', { BROKER_CLIENT_KEYS: 'demo:demo-client-key-change-me' }, 'BROKER_CLIENT_KEYS'],
    ['the sample operator key', { BROKER_OPERATOR_KEY: 'operator-key-change-me' }, 'BROKER_OPERATOR_KEY'],
    ['an operator key equal to a client key', { BROKER_OPERATOR_KEY: LONG }, 'BROKER_OPERATOR_KEY'],
    ['an operator key equal to a hashed client key', { BROKER_CLIENT_KEYS: `app1:sha256:${createHash('sha256').update(OPERATOR).digest('hex')}` }, 'BROKER_OPERATOR_KEY'],
    ['the emulator account on a remote host', { AzureWebJobsStorage: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://10.1.2.3:10002/devstoreaccount1', BROKER_BASE_URL: 'http://broker.example' }, 'BROKER_BASE_URL'],
  ])('refuses %s', (_name, override, setting) => {
    expect(() => loadConfig({ ...safe, ...override })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', details: { setting }, message: expect.stringContaining(setting) }));
  });

  it('accepts safe settings, loopback http and hashed keys', () => {
    expect(() => loadConfig({ ...safe, BROKER_ALLOWED_RETURN_URLS: 'https://app.example/done,http://127.0.0.1:3000/' })).not.toThrow();
    expect(() => loadConfig({ ...safe, BROKER_CLIENT_KEYS: `app1:sha256:${'ab'.repeat(32)}` })).not.toThrow();
  });

  it('allows all of it on local development storage', () => {
    expect(() => loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', BROKER_BASE_URL: 'http://broker.example', BROKER_CLIENT_KEYS: 'demo:demo-client-key-change-me', BROKER_OPERATOR_KEY: 'operator-key-change-me' })).not.toThrow();
  });
});

describe('probeSchedule', () => {
  it('is daily at 03:17 UTC unless BROKER_PROBE_SCHEDULE names a six-field NCRONTAB expression', () => {
    expect(probeSchedule({})).toBe('0 17 3 * * *');
    expect(probeSchedule({ BROKER_PROBE_SCHEDULE: '0 0 */6 * * *' })).toBe('0 0 */6 * * *');
    expect(() => probeSchedule({ BROKER_PROBE_SCHEDULE: '0 3 * * *' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('BROKER_PROBE_SCHEDULE') }));
  });
});
