import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { BrokerError } from '../domain/errors';
import { DEFAULT_REFRESH_FAILURE_SPAN_MS } from '../domain/refresh-attempts';
import { CATALOGUE } from '../providers/catalogue';
import { DEFAULT_LIMITS, type LimitSettings } from '../domain/limits';
import { buildProviderRegistry, type ProviderRegistry, type ProviderSource } from '../providers/registry';
import { type ClientKeyEntry, findClientByKey, keyMatches, parseClientKeys, parseKeyDigest } from './api-keys';
import { assertSafeOutsideDevelopment } from './production-rules';
import { isReturnUrlAllowed } from './return-urls';
import { DEFAULT_WEBHOOK_RETRY, type WebhookRetrySchedule } from '../domain/webhook-retry';
import { STANDARD_SECRET_PREFIX } from '../domain/webhook-secret';
import { assertEncryptionKeySource, readStorageSetting, storageConnectionString } from './storage-setting';
import { endpointUrlProblem, parseAbsoluteUrl } from './url-rules';

export { isReturnUrlAllowed } from './return-urls';
export type { ClientKeyEntry } from './api-keys';

/** Where a client app hears about status changes of its connections. */
export interface WebhookTarget {
  url: string;
  /**
   * Signing secrets, newest first (several during a rotation): each signs `webhook-signature`, the
   * first also the legacy `x-broker-signature`.
   */
  secrets: string[];
}

/** The broker's settings, read once from the environment and validated (design.md, "Settings"). */
export interface BrokerConfig {
  /** AzureWebJobsStorage as a connection string; '' for an identity-based connection (storage-setting.ts). */
  storageConnectionString: string;
  /** BROKER_BASE_URL without trailing slash. */
  baseUrl: string;
  providers: ProviderRegistry;
  /** KEY_VAULT_URL: when set, secrets named by `*Name` fields and the encryption key come from Key Vault. */
  keyVaultUrl?: string;
  /** BROKER_ENCRYPTION_KEY (32 bytes); used only without Key Vault. */
  encryptionKey?: Buffer;
  /** BROKER_PREVIOUS_ENCRYPTION_KEYS: older local keys, still accepted for decryption after a rotation. */
  previousEncryptionKeys: Buffer[];
  /** BROKER_ENCRYPTION_KEY_NAME: the Key Vault secret holding the key (its versions are the key ids). */
  encryptionKeySecretName: string;
  clientKeys: ClientKeyEntry[];
  /** SHA-256 of BROKER_OPERATOR_KEY; undefined disables operator routes. */
  operatorKeyHash?: Buffer;
  allowedReturnUrls: URL[];
  authorizationTimeoutSeconds: number;
  /** BROKER_REFRESH_MARGIN_SECONDS: refresh this long before expiry (at most half the lifetime). */
  refreshMarginSeconds: number;
  /** BROKER_AUDIT_RETENTION_DAYS: how long a connection's event log keeps its events. */
  auditRetentionDays: number;
  /** BROKER_REFRESH_FAILURE_SPAN_SECONDS: how long refreshes may keep failing before `reauth_required`. */
  refreshFailureSpanSeconds: number;
  /** BROKER_WEBHOOK_URLS + BROKER_WEBHOOK_SECRETS, by client id. */
  webhooks: ReadonlyMap<string, WebhookTarget>;
  /** BROKER_BINDING_REQUIRED_CLIENTS: client ids whose connections must be session-bound. */
  bindingRequiredClients: ReadonlySet<string>;
  /** Quotas and rate limits per client (docs/configuration.md, "Limits"). */
  limits: LimitSettings;
  /** BROKER_WEBHOOK_RETRY_*: how long and how often a refused delivery is tried again. */
  webhookRetry: WebhookRetrySchedule;
  /** OpenTelemetry export (OTEL_EXPORTER_OTLP_ENDPOINT, BROKER_TELEMETRY); undefined: telemetry off. */
  telemetry?: TelemetrySettings;
}

export interface TelemetrySettings {
  endpoint: string;
  serviceName: string;
  metricExportIntervalMs: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadConfigOptions {
  /** Reads BROKER_PROVIDERS_FILE; replaceable in tests. */
  readFile?: (path: string) => string;
}

const DEFAULT_BASE_URL = 'http://localhost:7071';
const DEFAULT_AUTHORIZATION_TIMEOUT_SECONDS = 600;
/** Covers the Azure Storage backend's queue polling (30 s at most by default) with room to spare. */
const DEFAULT_REFRESH_MARGIN_SECONDS = 60;
const DEFAULT_AUDIT_RETENTION_DAYS = 90;
const DEFAULT_ENCRYPTION_KEY_SECRET_NAME = 'broker-encryption-key';
const ENCRYPTION_KEY_BYTES = 32;

function invalid(setting: string, problem: string): BrokerError {
  return new BrokerError('CONFIG_INVALID', `${setting} ${problem}`, { details: { setting } });
}

/** local.settings.json carries empty strings for unset values; treat them as unset. */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  // App Service passes an unresolvable Key Vault reference through as its literal text, which
  // would otherwise become a guessable key: refuse to start instead.
  if (value?.startsWith('@Microsoft.KeyVault(')) throw invalid(name, 'is a Key Vault reference the platform could not resolve');
  return value === '' ? undefined : value;
}

function parseBaseUrl(value: string | undefined): string {
  if (value === undefined) return DEFAULT_BASE_URL;
  const url = parseAbsoluteUrl(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username) {
    throw invalid('BROKER_BASE_URL', 'must be an absolute http(s) URL without query, fragment or credentials');
  }
  return value.replace(/\/+$/, '');
}

function parseKeyVaultUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const url = parseAbsoluteUrl(value);
  if (!url || url.protocol !== 'https:') throw invalid('KEY_VAULT_URL', 'must be an https URL (e.g. https://my-vault.vault.azure.net)');
  return value.replace(/\/+$/, '');
}

function parseEncryptionKey(value: string, setting: string): Buffer {
  const key = Buffer.from(value, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || key.length !== ENCRYPTION_KEY_BYTES) {
    throw invalid(setting, `must be the base64 encoding of exactly ${ENCRYPTION_KEY_BYTES} bytes`);
  }
  return key;
}

function parsePositiveInteger(value: string | undefined, setting: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number <= 0) throw invalid(setting, 'must be a positive integer');
  return number;
}

function parseUrlList(value: string | undefined, setting: string): URL[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item, index) => {
      const url = parseAbsoluteUrl(item);
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw invalid(setting, `entry ${index + 1} must be an absolute http(s) URL`);
      return url;
    });
}

/** `client=value,client=value`; values may contain "=" but not ",". */
function parseClientMap(value: string | undefined, setting: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of (value ?? '').split(',').map((i) => i.trim()).filter((i) => i !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) throw invalid(setting, 'entries must look like "clientId=value"');
    map.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return map;
}

function parseWebhooks(env: Env, clientKeys: readonly ClientKeyEntry[]): Map<string, WebhookTarget> {
  const urls = parseClientMap(read(env, 'BROKER_WEBHOOK_URLS'), 'BROKER_WEBHOOK_URLS');
  const secrets = parseClientMap(read(env, 'BROKER_WEBHOOK_SECRETS'), 'BROKER_WEBHOOK_SECRETS');
  const webhooks = new Map<string, WebhookTarget>();
  for (const [clientId, url] of urls) {
    if (!clientKeys.some((k) => k.clientId === clientId)) throw invalid('BROKER_WEBHOOK_URLS', `names client "${clientId}", which BROKER_CLIENT_KEYS does not define`);
    const problem = endpointUrlProblem(url);
    if (problem) throw invalid('BROKER_WEBHOOK_URLS', `URL of client "${clientId}" ${problem}`);
    const secret = secrets.get(clientId);
    if (secret === undefined) throw invalid('BROKER_WEBHOOK_SECRETS', `needs a secret for client "${clientId}"`);
    webhooks.set(clientId, { url, secrets: parseWebhookSecrets(secret, clientId) });
  }
  return webhooks;
}

/** A comma list of client ids, each defined by BROKER_CLIENT_KEYS. */
function parseClientList(value: string | undefined, setting: string, clientKeys: readonly ClientKeyEntry[]): Set<string> {
  const clients = new Set((value ?? '').split(',').map((i) => i.trim()).filter((i) => i !== ''));
  for (const clientId of clients) {
    if (!clientKeys.some((k) => k.clientId === clientId)) throw invalid(setting, `names client "${clientId}", which BROKER_CLIENT_KEYS does not define`);
  }
  return clients;
}

/** Space-separated, newest first; a `whsec_` secret must carry base64 after the prefix. */
function parseWebhookSecrets(value: string, clientId: string): string[] {
  const secrets = value.split(/\s+/).filter((s) => s !== '');
  for (const secret of secrets) {
    const encoded = secret.slice(STANDARD_SECRET_PREFIX.length);
    if (secret.startsWith(STANDARD_SECRET_PREFIX) && (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || Buffer.from(encoded, 'base64').length === 0)) {
      throw invalid('BROKER_WEBHOOK_SECRETS', `secret of client "${clientId}" starts with "${STANDARD_SECRET_PREFIX}" but is not followed by base64`);
    }
  }
  return secrets;
}

const DEFAULT_SERVICE_NAME = 'durable-oauth-broker';
const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 60_000;

/** Off unless an OTLP endpoint is configured; BROKER_TELEMETRY=off switches it off even then. */
function parseTelemetry(env: Env): TelemetrySettings | undefined {
  const mode = read(env, 'BROKER_TELEMETRY');
  if (mode !== undefined && mode !== 'off' && mode !== 'otlp') throw invalid('BROKER_TELEMETRY', 'must be "off" or "otlp"');
  const endpoint = read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (mode === 'off' || (mode === undefined && endpoint === undefined)) return undefined;
  if (endpoint === undefined) throw invalid('BROKER_TELEMETRY', 'is "otlp" but OTEL_EXPORTER_OTLP_ENDPOINT is not set');
  const url = parseAbsoluteUrl(endpoint);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.username) {
    throw invalid('OTEL_EXPORTER_OTLP_ENDPOINT', 'must be an absolute http(s) URL without query or credentials');
  }
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    serviceName: read(env, 'OTEL_SERVICE_NAME') ?? DEFAULT_SERVICE_NAME,
    metricExportIntervalMs: parsePositiveInteger(read(env, 'OTEL_METRIC_EXPORT_INTERVAL'), 'OTEL_METRIC_EXPORT_INTERVAL', DEFAULT_METRIC_EXPORT_INTERVAL_MS),
  };
}

function parseWebhookRetry(env: Env): WebhookRetrySchedule {
  const setting = (name: string, fallback: number) => parsePositiveInteger(read(env, name), name, fallback);
  const schedule = {
    firstIntervalSeconds: setting('BROKER_WEBHOOK_RETRY_FIRST_SECONDS', DEFAULT_WEBHOOK_RETRY.firstIntervalSeconds),
    maxIntervalSeconds: setting('BROKER_WEBHOOK_RETRY_MAX_INTERVAL_SECONDS', DEFAULT_WEBHOOK_RETRY.maxIntervalSeconds),
    retryForSeconds: setting('BROKER_WEBHOOK_RETRY_FOR_SECONDS', DEFAULT_WEBHOOK_RETRY.retryForSeconds),
  };
  if (schedule.maxIntervalSeconds < schedule.firstIntervalSeconds) {
    throw invalid('BROKER_WEBHOOK_RETRY_MAX_INTERVAL_SECONDS', 'must not be less than BROKER_WEBHOOK_RETRY_FIRST_SECONDS');
  }
  return schedule;
}

function parseJsonSetting(text: string, setting: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(setting, 'is not valid JSON');
  }
}

function providerSources(env: Env, readFile: (path: string) => string): ProviderSource[] {
  const sources: ProviderSource[] = [];
  const file = read(env, 'BROKER_PROVIDERS_FILE');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(resolvePath(file));
    } catch (error) {
      throw new BrokerError('CONFIG_INVALID', `BROKER_PROVIDERS_FILE: cannot read "${file}"`, { cause: error, details: { setting: 'BROKER_PROVIDERS_FILE' } });
    }
    sources.push({ source: `BROKER_PROVIDERS_FILE ${file}`, json: parseJsonSetting(text, 'BROKER_PROVIDERS_FILE') });
  }
  const inline = read(env, 'BROKER_PROVIDERS');
  if (inline !== undefined) sources.push({ source: 'BROKER_PROVIDERS', json: parseJsonSetting(inline, 'BROKER_PROVIDERS') });
  return sources;
}

/**
 * Reads and validates the settings. Pure apart from reading BROKER_PROVIDERS_FILE.
 *
 * @throws BrokerError CONFIG_INVALID naming the setting, or PROVIDER_INVALID naming provider and field.
 */
export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): BrokerConfig {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const encryptionKey = read(env, 'BROKER_ENCRYPTION_KEY');
  const clientKeys = parseClientKeys(read(env, 'BROKER_CLIENT_KEYS') ?? '');
  const operatorKey = read(env, 'BROKER_OPERATOR_KEY');
  const storage = readStorageSetting(env);
  const baseUrl = parseBaseUrl(read(env, 'BROKER_BASE_URL'));
  const allowedReturnUrls = parseUrlList(read(env, 'BROKER_ALLOWED_RETURN_URLS'), 'BROKER_ALLOWED_RETURN_URLS');
  assertSafeOutsideDevelopment({
    storageIsLocal: storage.local,
    baseUrl,
    allowedReturnUrls,
    clientKeysText: read(env, 'BROKER_CLIENT_KEYS') ?? '',
    clientKeys,
    operatorKeyText: operatorKey,
  });
  return {
    storageConnectionString: storageConnectionString(storage),
    baseUrl,
    providers: buildProviderRegistry(CATALOGUE, providerSources(env, readFile)),
    keyVaultUrl: parseKeyVaultUrl(read(env, 'KEY_VAULT_URL')),
    encryptionKey: encryptionKey === undefined ? undefined : parseEncryptionKey(encryptionKey, 'BROKER_ENCRYPTION_KEY'),
    previousEncryptionKeys: (read(env, 'BROKER_PREVIOUS_ENCRYPTION_KEYS') ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== '')
      .map((k) => parseEncryptionKey(k, 'BROKER_PREVIOUS_ENCRYPTION_KEYS')),
    encryptionKeySecretName: read(env, 'BROKER_ENCRYPTION_KEY_NAME') ?? DEFAULT_ENCRYPTION_KEY_SECRET_NAME,
    clientKeys,
    operatorKeyHash: operatorKey === undefined ? undefined : parseKeyDigest(operatorKey),
    allowedReturnUrls,
    authorizationTimeoutSeconds: parsePositiveInteger(
      read(env, 'BROKER_AUTHORIZATION_TIMEOUT_SECONDS'),
      'BROKER_AUTHORIZATION_TIMEOUT_SECONDS',
      DEFAULT_AUTHORIZATION_TIMEOUT_SECONDS,
    ),
    refreshMarginSeconds: parsePositiveInteger(read(env, 'BROKER_REFRESH_MARGIN_SECONDS'), 'BROKER_REFRESH_MARGIN_SECONDS', DEFAULT_REFRESH_MARGIN_SECONDS),
    auditRetentionDays: parsePositiveInteger(read(env, 'BROKER_AUDIT_RETENTION_DAYS'), 'BROKER_AUDIT_RETENTION_DAYS', DEFAULT_AUDIT_RETENTION_DAYS),
    refreshFailureSpanSeconds: parsePositiveInteger(
      read(env, 'BROKER_REFRESH_FAILURE_SPAN_SECONDS'),
      'BROKER_REFRESH_FAILURE_SPAN_SECONDS',
      DEFAULT_REFRESH_FAILURE_SPAN_MS / 1000,
    ),
    webhooks: parseWebhooks(env, clientKeys),
    bindingRequiredClients: parseClientList(read(env, 'BROKER_BINDING_REQUIRED_CLIENTS'), 'BROKER_BINDING_REQUIRED_CLIENTS', clientKeys),
    limits: parseLimits(env),
    webhookRetry: parseWebhookRetry(env),
    telemetry: parseTelemetry(env),
  };
}

function parseLimits(env: Env): LimitSettings {
  const setting = (name: string, fallback: number) => parsePositiveInteger(read(env, name), name, fallback);
  return {
    maxConnectionsPerClient: setting('BROKER_MAX_CONNECTIONS_PER_CLIENT', DEFAULT_LIMITS.maxConnectionsPerClient),
    startsPerMinute: setting('BROKER_STARTS_PER_MINUTE', DEFAULT_LIMITS.startsPerMinute),
    forcedRefreshesPerMinute: setting('BROKER_FORCED_REFRESHES_PER_MINUTE', DEFAULT_LIMITS.forcedRefreshesPerMinute),
    proxyRequestsPerSecond: setting('BROKER_PROXY_REQUESTS_PER_SECOND', DEFAULT_LIMITS.proxyRequestsPerSecond),
    proxyConcurrentPerClient: setting('BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT', DEFAULT_LIMITS.proxyConcurrentPerClient),
    proxyRefreshIntervalMs: setting('BROKER_PROXY_401_REFRESH_INTERVAL_SECONDS', DEFAULT_LIMITS.proxyRefreshIntervalMs / 1000) * 1000,
  };
}

/** Six-field NCRONTAB, as the Functions timer trigger takes it (Azure Functions docs, "NCRONTAB expressions"). */
const DEFAULT_WATCHDOG_SCHEDULE = '0 */1 * * * *';

/**
 * BROKER_WATCHDOG_SCHEDULE: when the watchdog sweeps. Read at registration time (a timer trigger's
 * schedule is fixed when the function is registered), so it is not part of BrokerConfig.
 */
export function watchdogSchedule(env: Env): string {
  return scheduleSetting(env, 'BROKER_WATCHDOG_SCHEDULE', DEFAULT_WATCHDOG_SCHEDULE);
}

/** Daily, off the hour, so the probes do not meet every other job's schedule. */
const DEFAULT_PROBE_SCHEDULE = '0 17 3 * * *';

/** BROKER_PROBE_SCHEDULE: when the health probes of non-expiring credentials run (read like the watchdog's). */
export function probeSchedule(env: Env): string {
  return scheduleSetting(env, 'BROKER_PROBE_SCHEDULE', DEFAULT_PROBE_SCHEDULE);
}

function scheduleSetting(env: Env, setting: string, fallback: string): string {
  const value = read(env, setting);
  if (value === undefined) return fallback;
  if (value.split(/\s+/).length !== 6) throw invalid(setting, 'must be a six-field NCRONTAB expression (seconds first)');
  return value;
}

let cached: BrokerConfig | undefined;

/** The settings of this process, loaded from `process.env` on first use (by the composition root only). */
export function getConfig(): BrokerConfig {
  if (!cached) {
    const config = loadConfig(process.env);
    assertEncryptionKeySource(readStorageSetting(process.env), config);
    cached = config;
  }
  return cached;
}

/** Forgets the loaded settings, so the next {@link getConfig} reads the environment again. */
export function clearConfigCache(): void {
  cached = undefined;
}

/** The client app owning `presentedKey` (from `Authorization: Bearer` or `x-api-key`), or undefined. */
export function authenticateClient(presentedKey: string | undefined, config: BrokerConfig): string | undefined {
  return findClientByKey(config.clientKeys, presentedKey);
}

/** True when `presentedKey` is the operator key (constant-time comparison of digests). */
export function isOperatorKey(presentedKey: string | undefined, config: BrokerConfig): boolean {
  return keyMatches(config.operatorKeyHash, presentedKey);
}

/** `returnTo` check against BROKER_ALLOWED_RETURN_URLS. */
export function isAllowedReturnUrl(candidate: string, config: BrokerConfig): boolean {
  return isReturnUrlAllowed(candidate, config.allowedReturnUrls);
}

