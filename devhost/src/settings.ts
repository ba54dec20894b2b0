/**
 * App settings as the Functions host resolves them: `local.settings.json` `Values`, overridden by the
 * environment, plus the parts of `host.json` this host honours.
 */
import { readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseTimeSpanMs } from './durable/timespan';

/** Durable settings read from `host.json` `extensions.durableTask`. */
export interface DurableSettings {
  hubName: string;
  /** .NET TimeSpan strings handed to the SDK verbatim, with their values in ms for the engine. */
  maximumShortTimerDuration: string;
  maximumShortTimerMs: number;
  longRunningTimerIntervalDuration: string;
  longRunningTimerIntervalMs: number;
  /** Which existing instances `startNew` may replace (`extensions.durableTask.overridableExistingInstanceStates`). */
  overridableExistingInstanceStates: OverridableStates;
  /** `storageProvider` settings of several hosts sharing the hub (partitions, their leases, queue polling). */
  partitionCount: number;
  leaseIntervalMs: number;
  leaseRenewIntervalMs: number;
  maxQueuePollingIntervalMs: number;
}

/** `host.json` `singleton`: the locks that keep a timer trigger's listener on one host. */
export interface SingletonSettings {
  listenerLockPeriodMs: number;
  listenerLockRecoveryPollingIntervalMs: number;
}

/**
 * The extension's `OverridableStates`: `NonRunningStates` (its default) refuses to start over a
 * Pending, Running, ContinuedAsNew or Suspended instance; `AnyState` replaces whatever is there.
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/OverridableStates.cs
 */
export type OverridableStates = 'AnyState' | 'NonRunningStates';
const OVERRIDABLE_STATES: OverridableStates[] = ['AnyState', 'NonRunningStates'];

export interface HostSettings {
  routePrefix: string;
  durable: DurableSettings;
  singleton: SingletonSettings;
}

function readJson(file: string): unknown {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Reads `local.settings.json` `Values` (missing file → none). Environment values are NOT applied here. */
export function readLocalSettingsValues(appDir: string): Record<string, string> {
  const file = path.join(appDir, 'local.settings.json');
  if (!existsSync(file)) return {};
  const values = asRecord(asRecord(readJson(file)).Values);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Copies settings into `env` where `env` has no value of its own (the environment wins). */
export function applySettings(values: Record<string, string>, env: NodeJS.ProcessEnv): void {
  for (const [k, v] of Object.entries(values)) {
    if (env[k] === undefined) env[k] = v;
  }
}

const DEFAULT_MAX_SHORT_TIMER = '6.00:00:00';
/** Defaults of the Durable Task Azure Storage backend (AzureStorageOrchestrationServiceSettings). */
const DEFAULT_PARTITION_COUNT = 4;
const DEFAULT_LEASE_INTERVAL = '00:00:30';
const DEFAULT_LEASE_RENEW_INTERVAL = '00:00:10';
const DEFAULT_MAX_QUEUE_POLLING_INTERVAL = '00:00:30';

function readStorageProviderSettings(provider: Record<string, unknown>) {
  const span = (key: string, fallback: string) => {
    const ms = parseTimeSpanMs(typeof provider[key] === 'string' ? (provider[key] as string) : fallback, `host.json extensions.durableTask.storageProvider.${key}`);
    if (ms <= 0) throw new Error(`host.json extensions.durableTask.storageProvider.${key} must be positive`);
    return ms;
  };
  const partitionCount = provider.partitionCount === undefined ? DEFAULT_PARTITION_COUNT : Number(provider.partitionCount);
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 16) {
    throw new Error('host.json extensions.durableTask.storageProvider.partitionCount must be an integer from 1 to 16');
  }
  const leaseIntervalMs = span('leaseInterval', DEFAULT_LEASE_INTERVAL);
  const leaseRenewIntervalMs = span('leaseRenewInterval', DEFAULT_LEASE_RENEW_INTERVAL);
  if (leaseRenewIntervalMs >= leaseIntervalMs) throw new Error('host.json: storageProvider.leaseRenewInterval must be shorter than leaseInterval');
  return { partitionCount, leaseIntervalMs, leaseRenewIntervalMs, maxQueuePollingIntervalMs: span('maxQueuePollingInterval', DEFAULT_MAX_QUEUE_POLLING_INTERVAL) };
}
/** SingletonOptions defaults of the WebJobs SDK: listener locks of 60 s, retried every minute by the other hosts. */
const DEFAULT_LISTENER_LOCK_PERIOD = '00:01:00';
const DEFAULT_LISTENER_LOCK_RECOVERY_POLLING = '00:01:00';

function readSingletonSettings(singleton: Record<string, unknown>): SingletonSettings {
  const span = (key: string, fallback: string) => {
    const text = typeof singleton[key] === 'string' ? (singleton[key] as string) : fallback;
    const ms = parseTimeSpanMs(text, `host.json singleton.${key}`);
    if (ms <= 0) throw new Error(`host.json singleton.${key} must be positive`);
    return ms;
  };
  return {
    listenerLockPeriodMs: span('listenerLockPeriod', DEFAULT_LISTENER_LOCK_PERIOD),
    listenerLockRecoveryPollingIntervalMs: span('listenerLockRecoveryPollingInterval', DEFAULT_LISTENER_LOCK_RECOVERY_POLLING),
  };
}
const DEFAULT_LONG_TIMER_INTERVAL = '3.00:00:00';

/** The setting as .NET binds an enum: case-insensitive name; absent → the extension's default. */
function overridableStates(value: unknown): OverridableStates {
  if (value === undefined || value === null) return 'NonRunningStates';
  const found = OVERRIDABLE_STATES.find((s) => typeof value === 'string' && s.toLowerCase() === value.trim().toLowerCase());
  if (!found) throw new Error(`host.json extensions.durableTask.overridableExistingInstanceStates "${String(value)}" must be one of ${OVERRIDABLE_STATES.join(', ')}`);
  return found;
}

/** Reads `host.json` (missing file → defaults). */
export function readHostSettings(appDir: string): HostSettings {
  const file = path.join(appDir, 'host.json');
  const host = existsSync(file) ? asRecord(readJson(file)) : {};
  const extensions = asRecord(host.extensions);
  const http = asRecord(extensions.http);
  const durable = asRecord(extensions.durableTask);
  const routePrefix = typeof http.routePrefix === 'string' ? http.routePrefix.replace(/^\/+|\/+$/g, '') : 'api';
  const hubName = typeof durable.hubName === 'string' && durable.hubName ? durable.hubName : 'TestHubName';
  if (!/^[A-Za-z][A-Za-z0-9]{2,44}$/.test(hubName)) {
    throw new Error(`host.json extensions.durableTask.hubName "${hubName}" must be 3-45 letters or digits, starting with a letter`);
  }
  const maxShort = typeof durable.maximumShortTimerDuration === 'string' ? durable.maximumShortTimerDuration : DEFAULT_MAX_SHORT_TIMER;
  const interval =
    typeof durable.longRunningTimerIntervalDuration === 'string' ? durable.longRunningTimerIntervalDuration : DEFAULT_LONG_TIMER_INTERVAL;
  const maximumShortTimerMs = parseTimeSpanMs(maxShort, 'extensions.durableTask.maximumShortTimerDuration');
  const longRunningTimerIntervalMs = parseTimeSpanMs(interval, 'extensions.durableTask.longRunningTimerIntervalDuration');
  const overridable = overridableStates(durable.overridableExistingInstanceStates);
  if (longRunningTimerIntervalMs <= 0 || longRunningTimerIntervalMs > maximumShortTimerMs) {
    throw new Error('host.json: longRunningTimerIntervalDuration must be positive and at most maximumShortTimerDuration');
  }
  return {
    routePrefix,
    singleton: readSingletonSettings(asRecord(host.singleton)),
    durable: {
      hubName,
      maximumShortTimerDuration: maxShort,
      maximumShortTimerMs,
      longRunningTimerIntervalDuration: interval,
      longRunningTimerIntervalMs,
      overridableExistingInstanceStates: overridable,
      ...readStorageProviderSettings(asRecord(durable.storageProvider)),
    },
  };
}
