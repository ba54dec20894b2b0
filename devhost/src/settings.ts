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
    durable: {
      hubName,
      maximumShortTimerDuration: maxShort,
      maximumShortTimerMs,
      longRunningTimerIntervalDuration: interval,
      longRunningTimerIntervalMs,
      overridableExistingInstanceStates: overridable,
    },
  };
}
