/**
 * The durable client as the services see it (a port: durable-functions' DurableClient satisfies it,
 * tests pass a fake), and the one "raise this event, or start the orchestration if it is gone" rule.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { BrokerError } from '../domain/errors';
import { Orchestrations } from './names';
import type { ConnectionEventName, ConnectionEvents, ConnectionOrchestrationInput } from './contract';

export interface OrchestrationStatusLike {
  runtimeStatus: string;
  customStatus?: unknown;
  input?: unknown;
}

export interface OrchestrationListItem extends OrchestrationStatusLike {
  instanceId: string;
  name?: string;
}

export interface DurableClientLike {
  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string>;
  raiseEvent(instanceId: string, eventName: string, eventData: unknown): Promise<void>;
  getStatus(instanceId: string, options?: { showHistory?: boolean; showHistoryOutput?: boolean; showInput?: boolean }): Promise<OrchestrationStatusLike>;
  terminate(instanceId: string, reason: string): Promise<void>;
  purgeInstanceHistory(instanceId: string): Promise<{ instancesDeleted: number }>;
  /** Instances in the given runtime statuses (the SDK follows the continuation pages itself). */
  getStatusBy(filter: { runtimeStatus: string[] }): Promise<OrchestrationListItem[]>;
}

/** The invocation's durable client, resolved on first use (functions without the binding work too). */
export function durableClientOf(invocation: InvocationContext | undefined): DurableClientLike {
  let client: DurableClientLike | undefined;
  const get = () => {
    if (!invocation) throw new Error('no durable client outside a function invocation');
    return (client ??= df.getClient(invocation) as unknown as DurableClientLike);
  };
  return {
    startNew: (name, options) => get().startNew(name, options),
    raiseEvent: (id, event, data) => get().raiseEvent(id, event, data),
    getStatus: (id, options) => get().getStatus(id, options),
    terminate: (id, reason) => get().terminate(id, reason),
    purgeInstanceHistory: (id) => get().purgeInstanceHistory(id),
    getStatusBy: (filter) => get().getStatusBy(filter),
  };
}

const RUNNING = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

export function isRunning(runtimeStatus: string | undefined): boolean {
  return runtimeStatus !== undefined && RUNNING.has(runtimeStatus);
}

/**
 * The SDK's getStatus throws for an unknown instance (it reports the extension's HTTP 404 in its
 * message, durableClient/DurableClient.js); this answers undefined for that case only. Any other
 * failure (the task hub unreachable, a 500) is not evidence that the orchestration is gone: starting
 * it again would replace a running one, so it is thrown as a transient error instead.
 */
export async function tryGetStatus(client: DurableClientLike, instanceId: string): Promise<OrchestrationStatusLike | undefined> {
  try {
    return await client.getStatus(instanceId);
  } catch (error) {
    if (isInstanceNotFound(error)) return undefined;
    throw new BrokerError('STORAGE_UNAVAILABLE', 'the orchestration status could not be read', { cause: error, transient: true });
  }
}

const NOT_FOUND_MESSAGE = /replied with HTTP 404 response/;

export function isInstanceNotFound(error: unknown): boolean {
  return error instanceof Error && NOT_FOUND_MESSAGE.test(error.message);
}

/** `instanceId`: the connection row's (Connection.instanceId), never the public connection id. */
export async function isConnectionRunning(client: DurableClientLike, instanceId: string): Promise<boolean> {
  return isRunning((await tryGetStatus(client, instanceId))?.runtimeStatus);
}

/** Raises one of the connection orchestration's events, with its payload type checked. */
export function raiseConnectionEvent<E extends ConnectionEventName>(
  client: DurableClientLike,
  instanceId: string,
  event: E,
  payload: ConnectionEvents[E],
): Promise<void> {
  return client.raiseEvent(instanceId, event, payload);
}

/**
 * `raised`: the running orchestration got the event. `started`: none ran, so it was started with
 * `restart()` (which must already carry what the event asks for). `lost`: the event could not be
 * delivered (the task hub's storage did not answer, or another caller restarted the instance and
 * raising to that one failed too); the caller decides whether to retry or to report it.
 */
export type RaiseOutcome = 'raised' | 'started' | 'lost';

/**
 * raiseEvent "has no effect" on an instance that is not running (durable-functions' durableClient.d.ts),
 * so a stopped connection orchestration is started again instead of being talked to.
 */
export async function raiseOrStart<E extends ConnectionEventName>(
  client: DurableClientLike,
  instanceId: string,
  event: E,
  payload: ConnectionEvents[E],
  restart: () => ConnectionOrchestrationInput,
): Promise<RaiseOutcome> {
  const raise = () =>
    raiseConnectionEvent(client, instanceId, event, payload).then(
      () => 'raised' as const,
      () => 'lost' as const,
    );
  if (await isConnectionRunning(client, instanceId)) return raise();
  try {
    await client.startNew(Orchestrations.Connection, { instanceId, input: restart() });
    return 'started';
  } catch {
    // Another caller (or host) restarted it first: ask that one instead.
    return raise();
  }
}
