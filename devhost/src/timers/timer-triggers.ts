/**
 * Timer triggers (`app.timer(name, { schedule, runOnStartup, useMonitor, handler })`): one listener
 * per function, run under a singleton lock shared by every host of the same host id, with its schedule
 * status recorded in the hosts table (`AzureWebJobsHostsDevHost`, the stand-in for the
 * `azure-webjobs-hosts` blob container). Without storage each host runs its timers alone, unmonitored.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import type { FunctionMetadata } from '../core-api';
import type { InvocationInput } from '../invoker';
import type { HostLogger } from '../log';
import type { SingletonSettings } from '../settings';
import type { FunctionInvoker } from '../worker/worker-pool';
import { isStatus, TableLease } from '../storage/lease';
import { monitorDisabledByFrequency, parseCron } from './ncrontab';
import { TableScheduleStatusStore } from './schedule-monitor';
import { SingletonListener, type Listener } from './singleton-listener';
import { TimerListener } from './timer-listener';

export const HOSTS_TABLE = 'AzureWebJobsHostsDevHost';

export interface TimerTriggerOptions {
  functions: FunctionMetadata[];
  invoker: FunctionInvoker;
  /** Durable client inputs the function declares (a timer may start orchestrations). */
  clientInputs(fn: FunctionMetadata): InvocationInput[];
  logger: HostLogger;
  /** The app's storage connection string, when it has one. */
  connectionString?: string;
  hostId: string;
  workerId: string;
  singleton: SingletonSettings;
}

/**
 * The host id the locks and statuses are keyed by: `AzureFunctionsWebHost__hostid`, else
 * `WEBSITE_SITE_NAME`, else the app's package name — lower case, at most 32 characters, as the
 * Functions host shortens site names.
 * @see https://learn.microsoft.com/azure/azure-functions/storage-considerations#host-id-considerations
 */
export function resolveHostId(appDir: string, env: NodeJS.ProcessEnv): string {
  let name = env.AzureFunctionsWebHost__hostid ?? env.AzureFunctionsWebHost__hostId ?? env.WEBSITE_SITE_NAME;
  if (!name) {
    try {
      name = (JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as { name?: string }).name;
    } catch {
      /* no usable package.json name */
    }
  }
  const id = (name || path.basename(appDir)).toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 32).replace(/-+$/, '');
  return id || 'devhost';
}

/** `%Name%` schedules are read from app settings, as the host's name resolver does. */
function resolveSchedule(text: string, env: NodeJS.ProcessEnv): string {
  const m = /^%([^%]+)%$/.exec(text.trim());
  if (!m) return text;
  const value = env[m[1]];
  if (value === undefined) throw new Error(`app setting "${m[1]}" named by the schedule is not set`);
  return value;
}

async function ensureTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
  }
}

/** Starts every timer trigger's listener; resolves with a stopper that waits for running invocations. */
export async function startTimerTriggers(o: TimerTriggerOptions): Promise<{ stop(): Promise<void> }> {
  const timers = o.functions.filter((f) => f.triggerType.toLowerCase() === 'timertrigger');
  if (timers.length === 0) return { stop: async () => undefined };
  const table = o.connectionString ? TableClient.fromConnectionString(o.connectionString, HOSTS_TABLE, { allowInsecureConnection: true }) : undefined;
  if (table) await ensureTable(table);
  else o.logger.info('Timer triggers run without storage: no schedule monitor, and no lock across hosts');
  const monitor = table ? new TableScheduleStatusStore(table, o.hostId, (m) => o.logger.error(m)) : undefined;
  const listeners: Listener[] = [];
  for (const fn of timers) {
    const binding = fn.bindings[fn.triggerBindingName];
    let schedule;
    try {
      schedule = parseCron(resolveSchedule(String(binding.schedule ?? ''), process.env));
    } catch (err) {
      o.logger.error(`Function ${fn.name}: ${(err as Error).message}; the timer is not started`);
      continue;
    }
    const useMonitor = binding.useMonitor !== false && !monitorDisabledByFrequency(schedule);
    // The extension's timer name for out-of-process functions (its status blob and lock are named after it).
    const timerName = `Host.Functions.${fn.name}`;
    const lockId = `${timerName}.Listener`;
    let lease: TableLease | undefined;
    const createListener = () =>
      new TimerListener({
        functionName: fn.name,
        timerName,
        schedule,
        runOnStartup: binding.runOnStartup === true,
        monitor: useMonitor ? monitor : undefined,
        logger: o.logger,
        invoke: async (info) => {
          // A stalled host whose lock may already have passed to another host does not run the occurrence.
          if (lease && !lease.held) return;
          await o.invoker.invoke(fn, [{ name: fn.triggerBindingName, data: { json: JSON.stringify(info) } }, ...o.clientInputs(fn)]);
        },
      });
    let listener: Listener;
    if (table) {
      lease = new TableLease({ table, partitionKey: o.hostId, rowKey: `lock:${lockId}`, owner: o.workerId, periodMs: o.singleton.listenerLockPeriodMs });
      listener = new SingletonListener({
        lockId,
        lease,
        periodMs: o.singleton.listenerLockPeriodMs,
        recoveryPollingMs: o.singleton.listenerLockRecoveryPollingIntervalMs,
        createListener,
        logger: o.logger,
      });
    } else {
      listener = createListener();
    }
    o.logger.info(`Function ${fn.name}: timerTrigger ${schedule.expression}${useMonitor && monitor ? ' (schedule monitor on)' : ''}`);
    await listener.start();
    listeners.push(listener);
  }
  return { stop: async () => void (await Promise.all(listeners.map((l) => l.stop()))) };
}
