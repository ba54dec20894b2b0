/**
 * The engine's vocabulary: what it keeps per instance (persisted with the instance row or in memory),
 * the messages an instance's mailbox carries, and what an episode asks to be done after its commit.
 */
import type { FunctionMetadata } from '../core-api';
import type { FaultSwitches } from '../faults';
import type { InvocationInput } from '../invoker';
import type { HostLogger } from '../log';
import type { DurableSettings } from '../settings';
import type { DurableInvoker } from '../worker/worker-pool';
import type { DurableStore, InstanceRecord } from '../storage/durable-store';
import type { FailureDetailsPayload, HistoryEvent, RetryOptions } from './protocol';

export interface EngineOptions {
  store: DurableStore;
  /** The app's functions, as its workers reported them. */
  functions: ReadonlyMap<string, FunctionMetadata>;
  invoker: DurableInvoker;
  logger: HostLogger;
  settings: DurableSettings;
  /** Durable client inputs a function declares (activities may have one, as in Azure). */
  clientInputs?: (fn: FunctionMetadata) => InvocationInput[];
  /** Test fault switches that act inside the engine (see faults.ts); all off when absent. */
  faults?: Pick<FaultSwitches, 'activityTwice' | 'deliveryDelayMs'>;
  /** Other hosts on the same task hub; without it this host runs every instance. */
  cluster?: ClusterPort;
}

/** What the engine needs to know of the hosts sharing its task hub (cluster.ts). */
export interface ClusterPort {
  /** Whether this host runs the instance now (holds the lease on its partition). */
  owns(instanceId: string): boolean;
  /** Tells the instance's owner that its inbox rows have something new (they are written first). */
  notify(instanceId: string): Promise<void>;
}

/** An episode's commit found the instance's partition no longer held: another host runs it now. */
export class OwnershipLostError extends Error {
  constructor(instanceId: string) {
    super(`Instance ${instanceId} is no longer owned by this host`);
  }
}

export type RetryTarget =
  | { kind: 'activity'; name: string; input: unknown }
  | { kind: 'sub'; name: string; instanceId?: string; input: unknown; version?: string };

export interface RetryChain {
  options: RetryOptions;
  /** 1-based number of the attempt this task is (or, for a retry timer, the attempt that failed). */
  attempt: number;
}

export type TimerTask = { kind: 'timer'; fireAt: number; action: number; final?: number; retry?: RetryChain & { target: RetryTarget } };

export type OpenTask =
  | { kind: 'activity'; name: string; input: unknown; action: number; chain?: RetryChain }
  | { kind: 'sub'; name: string; childId: string; input: unknown; version?: string; action: number; chain?: RetryChain }
  | TimerTask;

export interface ParentLink {
  instanceId: string;
  taskId: number;
  generation: number;
}

/** Engine bookkeeping persisted with the instance row. */
export interface EngineState {
  seq: number;
  cursor: number;
  lastTs: number;
  started: boolean;
  tasks: Record<string, OpenTask>;
  consumed: string[];
  parent?: ParentLink;
  version?: string;
  /** Set when the execution failed, for the parent's SubOrchestrationInstanceFailed. */
  failure?: FailureDetailsPayload;
}

export type TaskOutcome = { ok: true; result: string } | { ok: false; reason: string; details: string | null; failure: FailureDetailsPayload };

export type Message =
  | { kind: 'start' }
  | { kind: 'event'; name: string; input: string; rowKey?: string }
  | { kind: 'terminate' | 'suspend' | 'resume'; reason: string | null; rowKey?: string }
  | { kind: 'task'; id: number; generation: number; outcome: TaskOutcome }
  | { kind: 'sub'; id: number; generation: number; outcome: TaskOutcome }
  | { kind: 'timer'; id: number; generation: number };

export type ControlMessage = Extract<Message, { reason: string | null }>;

export interface Instance {
  record: InstanceRecord;
  engine: EngineState;
  /** Current generation's history (without IsPlayed), loaded on first use. */
  history?: HistoryEvent[];
  queue: Message[];
  busy: boolean;
  timers: Map<number, NodeJS.Timeout>;
  removed: boolean;
  /**
   * A continueAsNew not yet written: the next generation's first episode follows at once and writes
   * the instance row for both (what it consumed included); old history goes only after that write.
   */
  unwritten?: { consumed: string[]; deleteHistoryBefore?: number };
  /**
   * While a continueAsNew is unwritten, the row as last written: what status reads see, as on Azure,
   * where the next generation runs in the same work item and `ContinuedAsNew` is never shown.
   */
  written?: InstanceRecord;
}

/** Post-commit work of one episode. */
export interface Effects {
  activities: { id: number; name: string; input: unknown }[];
  timers: { id: number; fireAt: number }[];
  cancelTimers: number[];
  children: { id: number; childId: string; name: string; input: unknown; version?: string }[];
  notifyParent?: { outcome: TaskOutcome };
  continuedAsNew?: boolean;
  deleteHistoryBefore?: number;
}

export type ControlResult = 'accepted' | 'notFound' | 'gone';

export const NOT_FOUND_REASON = (name: string, kind: string) => `The function '${name}' doesn't exist, is disabled, or is not ${kind} function.`;

export function noEffects(): Effects {
  return { activities: [], timers: [], cancelTimers: [], children: [] };
}

export function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function freshEngine(prev?: EngineState): EngineState {
  return { seq: 0, cursor: 0, lastTs: prev?.lastTs ?? 0, started: false, tasks: {}, consumed: prev?.consumed ?? [], parent: prev?.parent };
}

export function event(type: number, ts: number, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, Timestamp: new Date(ts).toISOString(), ...fields };
}
