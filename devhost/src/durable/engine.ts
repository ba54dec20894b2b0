/**
 * The orchestration engine: per-instance serialized episodes that replay the history through the real
 * orchestrator handler, allocate sequence ids exactly as durable-functions does, run activities,
 * timers and sub-orchestrations, and commit each episode to the durable store before acting on it.
 *
 * Delivery is one new event per episode. The SDK allocates ids for retry timers, re-attempts and
 * long-timer segments while it processes the new event, before user code yields anything new; the
 * engine allocates those follow-ups first and then the new actions, which reproduces its order.
 *
 * Crash model: a start, raise, terminate, suspend or resume is acknowledged only after its row is
 * written. Activity results and timer firings live in memory until the episode that consumes them is
 * committed; on restart, open activities run again (at-least-once), timers are re-armed from their
 * recorded due time, and children are re-checked. A continueAsNew has no effect outside the instance,
 * so it is committed together with the next generation's first episode (one write instead of two); a
 * crash before that write replays from the previous generation's last commit.
 */
import { randomUUID } from 'node:crypto';
import type { CoreRegistry, RegisteredFunction, RpcTypedData } from '../core-api';
import type { InvocationInput } from '../invoker';
import { FunctionInvocationError, describeError, type Invoker } from '../invoker';
import type { HostLogger } from '../log';
import type { DurableSettings } from '../settings';
import { TERMINAL_STATUSES, type DurableStore, type EpisodeCommit, type InstanceRecord, type RuntimeStatus } from '../storage/durable-store';
import { formatHistory } from './history-view';
import {
  ActionType,
  EventType,
  REPLAY_SCHEMA_V3,
  flattenActions,
  parseOrchestratorFailure,
  retryDelayMs,
  type FailureDetailsPayload,
  type HistoryEvent,
  type OrchestratorAction,
  type OrchestratorState,
  type RetryOptions,
} from './protocol';

type RetryTarget =
  | { kind: 'activity'; name: string; input: unknown }
  | { kind: 'sub'; name: string; instanceId?: string; input: unknown; version?: string };

interface RetryChain {
  options: RetryOptions;
  /** 1-based number of the attempt this task is (or, for a retry timer, the attempt that failed). */
  attempt: number;
}

type OpenTask =
  | { kind: 'activity'; name: string; input: unknown; action: number; chain?: RetryChain }
  | { kind: 'sub'; name: string; childId: string; input: unknown; version?: string; action: number; chain?: RetryChain }
  | { kind: 'timer'; fireAt: number; action: number; final?: number; retry?: RetryChain & { target: RetryTarget } };

/** Engine bookkeeping persisted with the instance row. */
interface EngineState {
  seq: number;
  cursor: number;
  lastTs: number;
  started: boolean;
  tasks: Record<string, OpenTask>;
  consumed: string[];
  parent?: { instanceId: string; taskId: number; generation: number };
  version?: string;
  /** Set when the execution failed, for the parent's SubOrchestrationInstanceFailed. */
  failure?: FailureDetailsPayload;
}

type TaskOutcome = { ok: true; result: string } | { ok: false; reason: string; details: string | null; failure: FailureDetailsPayload };

type Message =
  | { kind: 'start' }
  | { kind: 'event'; name: string; input: string; rowKey?: string }
  | { kind: 'terminate' | 'suspend' | 'resume'; reason: string | null; rowKey?: string }
  | { kind: 'task'; id: number; generation: number; outcome: TaskOutcome }
  | { kind: 'sub'; id: number; generation: number; outcome: TaskOutcome }
  | { kind: 'timer'; id: number; generation: number };

interface Instance {
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
}

/** Post-commit work of one episode. */
interface Effects {
  activities: { id: number; name: string; input: unknown }[];
  timers: { id: number; fireAt: number }[];
  cancelTimers: number[];
  children: { id: number; childId: string; name: string; input: unknown; version?: string }[];
  notifyParent?: { outcome: TaskOutcome };
  continuedAsNew?: boolean;
  deleteHistoryBefore?: number;
}

export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

/** Status payload as the Durable HTTP API returns it. */
export interface StatusPayload {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

export interface ListQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: number;
  createdTimeTo?: number;
  instanceIdPrefix?: string;
  top?: number;
  continuationToken?: string;
  showInput?: boolean;
}

export type ControlResult = 'accepted' | 'notFound' | 'gone';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/**
 * The newest history events ride in the instance row, so most episodes write one entity; past this
 * size (JSON characters, under one property's 32 Ki) they move to a history row in the same transaction.
 */
const HISTORY_TAIL_CHARS = 24_000;
const CONSUMED_MEMORY = 64;
const RETRY_AFTER_STORAGE_ERROR_MS = 1000;
const DEFAULT_PAGE_SIZE = 100;
const NOT_FOUND_REASON = (name: string, kind: string) =>
  `The function '${name}' doesn't exist, is disabled, or is not ${kind} function.`;

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Instance ids: 1-256 characters, none of `/ \\ # ?` or control characters (Azure Table key rules). */
function isValidInstanceId(id: string): boolean {
  if (id.length < 1 || id.length > 256) return false;
  for (const ch of id) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || ch === '/' || ch === '\\' || ch === '#' || ch === '?') return false;
  }
  return true;
}

function freshEngine(prev?: EngineState): EngineState {
  return { seq: 0, cursor: 0, lastTs: prev?.lastTs ?? 0, started: false, tasks: {}, consumed: prev?.consumed ?? [], parent: prev?.parent };
}

function event(type: number, ts: number, fields: Record<string, unknown> = {}, eventId = -1): HistoryEvent {
  return { EventType: type, EventId: eventId, Timestamp: new Date(ts).toISOString(), ...fields };
}

/** TaskCompleted.Result (JSON text) for an activity's RPC return value. */
export function resultJson(value: RpcTypedData | null | undefined): string {
  if (!value) return 'null';
  if (typeof value.string === 'string') return JSON.stringify(value.string);
  if (typeof value.json === 'string') return value.json;
  if (typeof value.int === 'number') return String(value.int);
  if (typeof value.double === 'number') return String(value.double);
  if (value.bytes) return JSON.stringify(Buffer.from(value.bytes).toString('base64'));
  return 'null';
}

/** The activity trigger's RPC value for an action input (strings arrive pre-encoded by the SDK). */
export function activityInput(input: unknown): RpcTypedData | undefined {
  if (input === undefined || input === null) return undefined;
  return typeof input === 'string' ? { string: input } : { json: JSON.stringify(input) };
}

/** FailureDetails for an error thrown by a function (or the structured payload wrapActivityHandler puts in its message). */
export function failureDetailsOf(err: unknown): FailureDetailsPayload {
  const e = err instanceof Error ? err : new Error(String(err));
  try {
    const parsed = JSON.parse(e.message) as Record<string, unknown>;
    if (parsed && typeof parsed.errorType === 'string' && typeof parsed.errorMessage === 'string') {
      return {
        ErrorType: parsed.errorType,
        ErrorMessage: parsed.errorMessage,
        StackTrace: typeof parsed.stackTrace === 'string' ? parsed.stackTrace : undefined,
        IsNonRetriable: parsed.isNonRetriable === true,
        Properties: (parsed.properties as Record<string, unknown>) ?? undefined,
      };
    }
  } catch {
    /* a plain message */
  }
  return { ErrorType: e.name || 'Error', ErrorMessage: e.message, StackTrace: e.stack, IsNonRetriable: false };
}

export interface EngineOptions {
  store: DurableStore;
  registry: CoreRegistry;
  invoker: Invoker;
  logger: HostLogger;
  settings: DurableSettings;
  /** Durable client inputs a function declares (activities may have one, as in Azure). */
  clientInputs?: (fn: RegisteredFunction) => InvocationInput[];
}

export class DurableEngine {
  private readonly instances = new Map<string, Instance>();
  private stopping = false;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly o: EngineOptions) {}

  // ---------------------------------------------------------------- functions

  private orchestrator(name: string): RegisteredFunction | undefined {
    const fn = this.o.registry.functions.get(name);
    return fn?.triggerType === 'orchestrationTrigger' ? fn : undefined;
  }

  private activity(name: string): RegisteredFunction | undefined {
    const fn = this.o.registry.functions.get(name);
    return fn?.triggerType === 'activityTrigger' ? fn : undefined;
  }

  // ---------------------------------------------------------------- recovery

  /** Loads every unfinished instance and resumes its work: queued messages, activities, timers, children. */
  async recover(): Promise<number> {
    const pending: Instance[] = [];
    for await (const record of this.o.store.listInstances()) {
      if (TERMINAL_STATUSES.has(record.status)) continue;
      const inst = this.adopt(record);
      pending.push(inst);
    }
    for (const m of await this.o.store.listMessages()) {
      const inst = this.instances.get(m.instanceId);
      if (!inst) {
        await this.o.store.deleteMessage(m.instanceId, m.rowKey);
        continue;
      }
      if (inst.engine.consumed.includes(m.rowKey)) {
        await this.o.store.deleteMessage(m.instanceId, m.rowKey);
        continue;
      }
      inst.queue.push({ ...(JSON.parse(m.body) as Message), rowKey: m.rowKey } as Message);
    }
    for (const inst of pending) {
      const { engine } = inst;
      if (!engine.started) inst.queue.unshift({ kind: 'start' });
      for (const [key, task] of Object.entries(engine.tasks)) {
        const id = Number(key);
        if (task.kind === 'activity') this.runActivity(inst, id, task.name, task.input);
        else if (task.kind === 'timer') this.armTimer(inst, id, task.fireAt);
        else void this.ensureChild(inst, id, task.childId, task.name, task.input, task.version);
      }
      this.kick(inst);
    }
    return pending.length;
  }

  private adopt(record: InstanceRecord): Instance {
    const inst: Instance = {
      record,
      engine: JSON.parse(record.engine) as EngineState,
      queue: [],
      busy: false,
      timers: new Map(),
      removed: false,
    };
    if (!inst.engine.tasks) Object.assign(inst.engine, freshEngine());
    this.instances.set(record.instanceId, inst);
    return inst;
  }

  // ---------------------------------------------------------------- client operations

  /** Creates an instance; resolves once it is durably written. */
  async startNew(
    name: string,
    instanceId: string | undefined,
    input: string | null,
    opts: { version?: string; parent?: EngineState['parent'] } = {},
  ): Promise<{ status: 'created'; instanceId: string } | { status: 'badRequest' | 'conflict'; message: string }> {
    if (!this.orchestrator(name)) return { status: 'badRequest', message: NOT_FOUND_REASON(name, 'an orchestrator') };
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    if (!isValidInstanceId(id)) return { status: 'badRequest', message: `Invalid instance id "${id}"` };
    const live = this.instances.get(id);
    const conflict = (r: InstanceRecord) => ({ status: 'conflict' as const, message: `An instance with ID '${id}' already exists and is ${r.status}.` });
    if (live && !TERMINAL_STATUSES.has(live.record.status)) return conflict(live.record);
    const now = Date.now();
    const engine = freshEngine();
    engine.parent = opts.parent;
    engine.version = opts.version;
    const record: InstanceRecord = {
      instanceId: id,
      name,
      status: 'Pending',
      input,
      output: null,
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      generation: 0,
      historyLength: 0,
      historyRows: 0,
      historyTail: null,
      parentInstanceId: opts.parent?.instanceId ?? null,
      engine: JSON.stringify(engine),
    };
    // A new id is one write; only when a row exists is it read, to refuse a running instance or reuse a finished one's id.
    if (live || !(await this.o.store.createInstance(record))) {
      const previous = live?.record ?? (await this.o.store.readInstance(id));
      if (previous && !TERMINAL_STATUSES.has(previous.status)) return conflict(previous);
      if (live) this.remove(live);
      record.generation = previous ? previous.generation + 1 : 0;
      await this.o.store.writeInstance(record);
      if (previous) void this.o.store.deleteOldHistory(id, record.generation).catch(() => undefined);
    }
    const inst = this.adopt(record);
    inst.history = [];
    inst.queue.push({ kind: 'start' });
    this.kick(inst);
    return { status: 'created', instanceId: id };
  }

  private async currentRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    return this.instances.get(instanceId)?.record ?? (await this.o.store.readInstance(instanceId));
  }

  /** Queues an external event (accepted while Pending, Running or Suspended). */
  async raiseEvent(instanceId: string, name: string, dataJson: string): Promise<ControlResult> {
    const record = await this.currentRecord(instanceId);
    if (!record) return 'notFound';
    if (TERMINAL_STATUSES.has(record.status)) return 'gone';
    return this.queueDurable(instanceId, { kind: 'event', name, input: dataJson });
  }

  /** Queues terminate / suspend / resume. */
  async control(instanceId: string, kind: 'terminate' | 'suspend' | 'resume', reason: string | null): Promise<ControlResult> {
    const record = await this.currentRecord(instanceId);
    if (!record) return 'notFound';
    if (TERMINAL_STATUSES.has(record.status)) return 'gone';
    return this.queueDurable(instanceId, { kind, reason });
  }

  private async queueDurable(instanceId: string, message: Message): Promise<ControlResult> {
    const rowKey = await this.o.store.addMessage(instanceId, JSON.stringify(message));
    const inst = this.instances.get(instanceId);
    if (!inst) {
      // Finished between the check and the write: the row would never be consumed.
      await this.o.store.deleteMessage(instanceId, rowKey);
      return 'gone';
    }
    inst.queue.push({ ...message, rowKey } as Message);
    this.kick(inst);
    return 'accepted';
  }

  /** Status of one instance, or undefined when unknown. */
  async getStatus(instanceId: string, opts: StatusOptions = {}): Promise<StatusPayload | undefined> {
    const inst = this.instances.get(instanceId);
    const record = inst?.record ?? (await this.o.store.readInstance(instanceId));
    if (!record) return undefined;
    const payload = this.toPayload(record, opts.showInput !== false);
    if (opts.showHistory) {
      const history =
        inst?.history && inst.record === record
          ? inst.history
          : ((await this.o.store.readHistory(instanceId, record.generation, record.historyRows, record.historyTail)) as HistoryEvent[]);
      payload.historyEvents = formatHistory(history, Boolean(opts.showHistoryOutput), opts.showInput !== false);
    }
    return payload;
  }

  private toPayload(r: InstanceRecord, showInput: boolean): StatusPayload {
    return {
      name: r.name,
      instanceId: r.instanceId,
      runtimeStatus: r.status,
      input: showInput ? parseJson(r.input) : null,
      customStatus: parseJson(r.customStatus),
      output: parseJson(r.output),
      createdTime: isoSeconds(r.createdTime),
      lastUpdatedTime: isoSeconds(r.lastUpdatedTime),
    };
  }

  /** One page of instances in instance id order; `continuationToken` resumes after the last one. */
  async list(q: ListQuery): Promise<{ items: StatusPayload[]; continuationToken?: string }> {
    const top = q.top && q.top > 0 ? q.top : DEFAULT_PAGE_SIZE;
    const after = q.continuationToken ? Buffer.from(q.continuationToken, 'base64url').toString('utf8') : undefined;
    const items: StatusPayload[] = [];
    let last: string | undefined;
    let more = false;
    for await (const r of this.o.store.listInstances(after)) {
      if (!this.matches(r, q)) continue;
      if (items.length === top) {
        more = true;
        break;
      }
      items.push(this.toPayload(this.instances.get(r.instanceId)?.record ?? r, q.showInput !== false));
      last = r.instanceId;
    }
    return { items, continuationToken: more && last !== undefined ? Buffer.from(last, 'utf8').toString('base64url') : undefined };
  }

  private matches(r: InstanceRecord, q: ListQuery): boolean {
    if (q.runtimeStatus?.length && !q.runtimeStatus.includes(r.status)) return false;
    if (q.createdTimeFrom !== undefined && r.createdTime < q.createdTimeFrom) return false;
    if (q.createdTimeTo !== undefined && r.createdTime > q.createdTimeTo) return false;
    if (q.instanceIdPrefix && !r.instanceId.startsWith(q.instanceIdPrefix)) return false;
    return true;
  }

  /** Deletes an instance with its history and queued messages; false when unknown. */
  async purge(instanceId: string): Promise<boolean> {
    const inst = this.instances.get(instanceId);
    if (inst) this.remove(inst);
    return this.o.store.purge(instanceId);
  }

  /** Purges every instance matching the filter (default: finished ones); resolves with the count. */
  async purgeBy(q: ListQuery): Promise<number> {
    const statuses = q.runtimeStatus?.length ? q.runtimeStatus : [...TERMINAL_STATUSES];
    const ids: string[] = [];
    for await (const r of this.o.store.listInstances()) {
      if (this.matches(r, { ...q, runtimeStatus: statuses })) ids.push(r.instanceId);
    }
    let n = 0;
    for (const id of ids) if (await this.purge(id)) n++;
    return n;
  }

  /** Stops timers and waits (bounded) for episodes in progress to commit. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const inst of this.instances.values()) for (const t of inst.timers.values()) clearTimeout(t);
    const busy = () => [...this.instances.values()].some((i) => i.busy);
    if (!busy()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const check = () => {
        if (!busy()) {
          clearTimeout(timer);
          this.idleWaiters.delete(check);
          resolve();
        }
      };
      this.idleWaiters.add(check);
    });
  }

  // ---------------------------------------------------------------- scheduling

  private remove(inst: Instance): void {
    inst.removed = true;
    for (const t of inst.timers.values()) clearTimeout(t);
    inst.timers.clear();
    inst.queue.length = 0;
    if (this.instances.get(inst.record.instanceId) === inst) this.instances.delete(inst.record.instanceId);
  }

  private deliver(instanceId: string, message: Message): void {
    const inst = this.instances.get(instanceId);
    if (!inst || inst.removed) return;
    inst.queue.push(message);
    this.kick(inst);
  }

  private kick(inst: Instance): void {
    if (inst.busy || this.stopping) return;
    inst.busy = true;
    void this.drain(inst);
  }

  private nextIndex(inst: Instance): number {
    if (inst.record.status !== 'Suspended') return inst.queue.length ? 0 : -1;
    return inst.queue.findIndex((m) => m.kind === 'terminate' || m.kind === 'resume' || m.kind === 'suspend');
  }

  private async drain(inst: Instance): Promise<void> {
    try {
      while (!inst.removed && !this.stopping) {
        const i = this.nextIndex(inst);
        if (i < 0) break;
        const [message] = inst.queue.splice(i, 1);
        try {
          await this.process(inst, message);
        } catch (err) {
          if (inst.removed) break;
          this.o.logger.error(`Instance ${inst.record.instanceId}: episode failed, retrying: ${describeError(err)}`);
          inst.queue.splice(i, 0, message);
          await new Promise((r) => setTimeout(r, RETRY_AFTER_STORAGE_ERROR_MS));
        }
      }
      if (inst.unwritten && !inst.removed) await this.writeUnwritten(inst);
    } finally {
      inst.busy = false;
      if (TERMINAL_STATUSES.has(inst.record.status) && !inst.removed) this.remove(inst);
      for (const w of [...this.idleWaiters]) w();
    }
  }

  /** Writes a continueAsNew whose next episode did not run (the host is stopping); a restart runs that episode. */
  private async writeUnwritten(inst: Instance): Promise<void> {
    const { consumed, deleteHistoryBefore } = inst.unwritten!;
    try {
      await this.o.store.commit({ instance: inst.record, consumedMessages: consumed });
      inst.unwritten = undefined;
      if (deleteHistoryBefore !== undefined) void this.o.store.deleteOldHistory(inst.record.instanceId, deleteHistoryBefore).catch(() => undefined);
    } catch (err) {
      this.o.logger.error(`Instance ${inst.record.instanceId}: could not write its continueAsNew: ${describeError(err)}`);
    }
  }

  private runActivity(inst: Instance, id: number, name: string, input: unknown): void {
    const generation = inst.record.generation;
    const instanceId = inst.record.instanceId;
    const fn = this.activity(name);
    if (!fn) {
      const reason = NOT_FOUND_REASON(name, 'an activity');
      const failure: FailureDetailsPayload = { ErrorType: 'FunctionNotFound', ErrorMessage: reason };
      setImmediate(() => this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: false, reason, details: null, failure } }));
      return;
    }
    const data = activityInput(input);
    void this.o.invoker.invoke(fn, [{ name: fn.triggerBindingName, data }, ...(this.o.clientInputs?.(fn) ?? [])]).then(
      ({ response }) => this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: true, result: resultJson(response.returnValue) } }),
      (err: unknown) => {
        const cause = err instanceof FunctionInvocationError ? err.cause : err;
        const failure = failureDetailsOf(cause);
        const reason = `Activity function '${name}' failed: ${failure.ErrorMessage}`;
        this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: false, reason, details: failure.StackTrace ?? null, failure } });
      },
    );
  }

  private armTimer(inst: Instance, id: number, fireAt: number): void {
    if (this.stopping) return;
    const generation = inst.record.generation;
    const instanceId = inst.record.instanceId;
    const wait = () => {
      const left = fireAt - Date.now();
      if (left > 0) {
        inst.timers.set(id, setTimeout(wait, Math.min(left, MAX_TIMEOUT_MS)));
        return;
      }
      inst.timers.delete(id);
      this.deliver(instanceId, { kind: 'timer', id, generation });
    };
    const old = inst.timers.get(id);
    if (old) clearTimeout(old);
    wait();
  }

  /** Starts a child orchestration unless it already exists (restart after a crash); fails the task when it cannot. */
  private async ensureChild(inst: Instance, id: number, childId: string, name: string, input: unknown, version?: string): Promise<void> {
    const parent = { instanceId: inst.record.instanceId, taskId: id, generation: inst.record.generation };
    const fail = (reason: string) =>
      this.deliver(parent.instanceId, {
        kind: 'sub',
        id,
        generation: parent.generation,
        outcome: { ok: false, reason, details: null, failure: { ErrorType: 'OrchestrationFailureException', ErrorMessage: reason } },
      });
    try {
      const existing = this.instances.get(childId)?.record ?? (await this.o.store.readInstance(childId));
      if (existing) {
        const link = (JSON.parse(existing.engine) as EngineState).parent;
        const ours = link && link.instanceId === parent.instanceId && link.taskId === id && link.generation === parent.generation;
        if (ours) {
          if (TERMINAL_STATUSES.has(existing.status)) this.deliver(parent.instanceId, { kind: 'sub', id, generation: parent.generation, outcome: this.outcomeOf(existing) });
          return;
        }
      }
      const res = await this.startNew(name, childId, input === undefined ? null : JSON.stringify(input), { version, parent });
      if (res.status !== 'created') fail(res.message);
    } catch (err) {
      this.o.logger.error(`Instance ${parent.instanceId}: could not start sub-orchestration ${childId}: ${describeError(err)}`);
      fail(`Could not start sub-orchestration '${name}': ${describeError(err)}`);
    }
  }

  private outcomeOf(r: InstanceRecord): TaskOutcome {
    if (r.status === 'Completed') return { ok: true, result: r.output ?? 'null' };
    const message = String(parseJson(r.output) ?? r.status);
    const details = (JSON.parse(r.engine) as EngineState).failure;
    return {
      ok: false,
      reason: message,
      details: null,
      failure: details ?? { ErrorType: 'OrchestrationFailureException', ErrorMessage: message },
    };
  }

  // ---------------------------------------------------------------- episodes

  private async loadHistory(inst: Instance): Promise<HistoryEvent[]> {
    if (!inst.history) {
      const r = inst.record;
      inst.history = (await this.o.store.readHistory(r.instanceId, r.generation, r.historyRows, r.historyTail)) as HistoryEvent[];
    }
    return inst.history;
  }

  private async process(inst: Instance, msg: Message): Promise<void> {
    const record = inst.record;
    const consumed = 'rowKey' in msg && msg.rowKey ? [msg.rowKey] : [];
    if (consumed.length && inst.engine.consumed.includes(consumed[0])) {
      await this.o.store.deleteMessage(record.instanceId, consumed[0]);
      return;
    }
    const drop = async () => {
      if (consumed.length) await this.o.store.deleteMessage(record.instanceId, consumed[0]);
    };
    if (TERMINAL_STATUSES.has(record.status)) return drop();
    if (msg.kind === 'terminate' || msg.kind === 'suspend' || msg.kind === 'resume') return this.processControl(inst, msg, consumed);
    if (msg.kind === 'start' && inst.engine.started) return drop();
    if ((msg.kind === 'task' || msg.kind === 'sub' || msg.kind === 'timer') && !this.isOpen(inst, msg)) return drop();
    return this.episode(inst, msg, consumed);
  }

  private isOpen(inst: Instance, msg: Extract<Message, { id: number }>): boolean {
    if (msg.generation !== inst.record.generation) return false;
    const task = inst.engine.tasks[msg.id];
    return Boolean(task) && (msg.kind === 'task' ? task.kind === 'activity' : msg.kind === 'sub' ? task.kind === 'sub' : task.kind === 'timer');
  }

  private rememberConsumed(engine: EngineState, consumed: string[]): void {
    if (!consumed.length) return;
    engine.consumed = [...engine.consumed, ...consumed].slice(-CONSUMED_MEMORY);
  }

  /** Row keys of queued durable messages, deleted with an instance that finishes. */
  private queuedRowKeys(inst: Instance): string[] {
    return inst.queue.flatMap((m) => ('rowKey' in m && m.rowKey ? [m.rowKey] : []));
  }

  private async processControl(inst: Instance, msg: Extract<Message, { reason: string | null }>, consumed: string[]): Promise<void> {
    const history = await this.loadHistory(inst);
    const now = Date.now();
    const engine = structuredClone(inst.engine);
    const record: InstanceRecord = { ...inst.record, lastUpdatedTime: now };
    const events: HistoryEvent[] = [];
    const effects: Effects = { activities: [], timers: [], cancelTimers: [], children: [] };
    if (msg.kind === 'suspend') {
      if (record.status === 'Suspended') return this.commitOnly(inst, engine, record, consumed);
      record.status = 'Suspended';
      events.push(event(EventType.ExecutionSuspended, now, { Reason: msg.reason }));
    } else if (msg.kind === 'resume') {
      if (record.status !== 'Suspended') return this.commitOnly(inst, engine, record, consumed);
      record.status = engine.started ? 'Running' : 'Pending';
      events.push(event(EventType.ExecutionResumed, now, { Reason: msg.reason }));
    } else {
      record.status = 'Terminated';
      record.output = JSON.stringify(msg.reason ?? '');
      events.push(event(EventType.ExecutionTerminated, now, { Input: msg.reason ?? '' }));
      events.push(event(EventType.ExecutionCompleted, now, { OrchestrationStatus: 'Terminated', Result: record.output }));
      effects.cancelTimers = Object.keys(engine.tasks).map(Number);
      engine.tasks = {};
      consumed = [...consumed, ...this.queuedRowKeys(inst)];
      const reason = `Orchestration '${record.name}' was terminated: ${msg.reason ?? ''}`;
      effects.notifyParent = { outcome: { ok: false, reason, details: null, failure: { ErrorType: 'OrchestrationTerminated', ErrorMessage: reason } } };
    }
    this.rememberConsumed(engine, consumed);
    await this.commit(inst, engine, record, history, events, consumed, effects);
  }

  private async commitOnly(inst: Instance, engine: EngineState, record: InstanceRecord, consumed: string[]): Promise<void> {
    this.rememberConsumed(engine, consumed);
    await this.commit(inst, engine, record, await this.loadHistory(inst), [], consumed, {
      activities: [],
      timers: [],
      cancelTimers: [],
      children: [],
    });
  }

  private async commit(
    inst: Instance,
    engine: EngineState,
    record: InstanceRecord,
    past: HistoryEvent[],
    events: HistoryEvent[],
    consumed: string[],
    effects: Effects,
  ): Promise<void> {
    const continued = effects.continuedAsNew === true;
    const history = continued ? [] : past.concat(events);
    record.engine = JSON.stringify(engine);
    let historyRow: EpisodeCommit['historyRow'];
    if (!continued) {
      record.historyLength = history.length;
      const tail = JSON.stringify(history.slice(record.historyRows));
      if (tail.length > HISTORY_TAIL_CHARS) {
        historyRow = { generation: record.generation, startIndex: record.historyRows, eventsJson: tail };
        record.historyRows = history.length;
        record.historyTail = null;
      } else {
        record.historyTail = history.length > record.historyRows ? tail : null;
      }
    }
    const pending = inst.unwritten;
    const allConsumed = pending ? [...pending.consumed, ...consumed] : consumed;
    const deleteHistoryBefore = effects.deleteHistoryBefore ?? pending?.deleteHistoryBefore;
    if (continued && !this.stopping) {
      inst.unwritten = { consumed: allConsumed, deleteHistoryBefore };
    } else {
      await this.o.store.commit({ instance: record, historyRow, consumedMessages: allConsumed });
      inst.unwritten = undefined;
      if (deleteHistoryBefore !== undefined) void this.o.store.deleteOldHistory(record.instanceId, deleteHistoryBefore).catch(() => undefined);
    }
    if (inst.removed) return;
    inst.record = record;
    inst.engine = engine;
    inst.history = history;
    if (TERMINAL_STATUSES.has(record.status)) inst.queue.length = 0;
    this.applyEffects(inst, effects);
  }

  private applyEffects(inst: Instance, effects: Effects): void {
    for (const id of effects.cancelTimers) {
      const t = inst.timers.get(id);
      if (t) clearTimeout(t);
      inst.timers.delete(id);
    }
    if (effects.continuedAsNew) {
      for (const t of inst.timers.values()) clearTimeout(t);
      inst.timers.clear();
      inst.queue.unshift({ kind: 'start' });
    }
    for (const a of effects.activities) this.runActivity(inst, a.id, a.name, a.input);
    for (const t of effects.timers) this.armTimer(inst, t.id, t.fireAt);
    for (const c of effects.children) void this.ensureChild(inst, c.id, c.childId, c.name, c.input, c.version);
    const parent = inst.engine.parent;
    if (effects.notifyParent && parent) {
      this.deliver(parent.instanceId, { kind: 'sub', id: parent.taskId, generation: parent.generation, outcome: effects.notifyParent.outcome });
    }
  }

  /** Runs one episode: deliver `msg`, replay, schedule what the orchestrator asked for, commit. */
  private async episode(inst: Instance, msg: Message, consumed: string[]): Promise<void> {
    const past = await this.loadHistory(inst);
    const engine: EngineState = structuredClone(inst.engine);
    const record: InstanceRecord = { ...inst.record };
    const { maximumShortTimerMs, longRunningTimerIntervalMs } = this.o.settings;
    const effects: Effects = { activities: [], timers: [], cancelTimers: [], children: [] };
    const delivered = msg.kind === 'timer' ? (engine.tasks[msg.id] as Extract<OpenTask, { kind: 'timer' }>) : undefined;
    const now = Date.now();
    const ts = Math.max(now, engine.lastTs, delivered?.fireAt ?? 0);
    engine.lastTs = ts;
    record.lastUpdatedTime = now;
    const fresh: HistoryEvent[] = [event(EventType.OrchestratorStarted, ts)];
    const scheduled: HistoryEvent[] = [];

    const scheduleActivity = (id: number, name: string, input: unknown, action: number, chain?: RetryChain) => {
      engine.tasks[id] = { kind: 'activity', name, input, action, chain };
      scheduled.push(event(EventType.TaskScheduled, ts, { Name: name, Input: input === undefined ? null : JSON.stringify(input) }, id));
      effects.activities.push({ id, name, input });
    };
    const scheduleSub = (id: number, target: Extract<RetryTarget, { kind: 'sub' }>, action: number, chain?: RetryChain) => {
      const childId = target.instanceId || `${record.instanceId}:${id.toString(16).padStart(4, '0')}`;
      engine.tasks[id] = { kind: 'sub', name: target.name, childId, input: target.input, version: target.version, action, chain };
      scheduled.push(
        event(EventType.SubOrchestrationInstanceCreated, ts, { Name: target.name, InstanceId: childId, Input: target.input === undefined ? null : JSON.stringify(target.input) }, id),
      );
      effects.children.push({ id, childId, name: target.name, input: target.input, version: target.version });
    };
    const scheduleTimer = (id: number, fireAt: number, action: number, extra: Partial<Extract<OpenTask, { kind: 'timer' }>> = {}) => {
      engine.tasks[id] = { kind: 'timer', fireAt, action, ...extra };
      scheduled.push(event(EventType.TimerCreated, ts, { FireAt: new Date(fireAt).toISOString() }, id));
      effects.timers.push({ id, fireAt });
    };
    /** Next segment of a long timer, by the SDK's rule (LongTimerTask.getNextTimerTask). */
    const segmentEnd = (final: number) => (final - ts > maximumShortTimerMs ? ts + longRunningTimerIntervalMs : final);

    // 1. The new event, and the follow-up tasks the SDK will track while processing it.
    switch (msg.kind) {
      case 'start': {
        engine.started = true;
        record.status = 'Running';
        fresh.push(
          event(EventType.ExecutionStarted, ts, {
            Name: record.name,
            Version: engine.version ?? '',
            Input: record.input,
            ParentInstance: engine.parent ? { OrchestrationInstance: { InstanceId: engine.parent.instanceId }, TaskScheduleId: engine.parent.taskId } : null,
          }),
        );
        break;
      }
      case 'event':
        fresh.push(event(EventType.EventRaised, ts, { Name: msg.name, Input: msg.input }));
        break;
      case 'task':
      case 'sub': {
        const task = engine.tasks[msg.id] as Extract<OpenTask, { kind: 'activity' | 'sub' }>;
        delete engine.tasks[msg.id];
        const isTask = msg.kind === 'task';
        const o = msg.outcome;
        if (o.ok) {
          fresh.push(event(isTask ? EventType.TaskCompleted : EventType.SubOrchestrationInstanceCompleted, ts, { TaskScheduledId: msg.id, Result: o.result }));
        } else {
          fresh.push(
            event(isTask ? EventType.TaskFailed : EventType.SubOrchestrationInstanceFailed, ts, {
              TaskScheduledId: msg.id,
              Reason: o.reason,
              Details: o.details,
              FailureDetails: o.failure,
            }),
          );
          if (task.chain) {
            const target: RetryTarget =
              task.kind === 'activity'
                ? { kind: 'activity', name: task.name, input: task.input }
                : { kind: 'sub', name: task.name, instanceId: task.childId.startsWith(`${record.instanceId}:`) ? undefined : task.childId, input: task.input, version: task.version };
            const timerId = engine.seq++;
            scheduleTimer(timerId, ts + retryDelayMs(task.chain.options, task.chain.attempt), task.action, { retry: { ...task.chain, target } });
          }
        }
        break;
      }
      case 'timer': {
        const task = delivered!;
        delete engine.tasks[msg.id];
        fresh.push(event(EventType.TimerFired, ts, { TimerId: msg.id, FireAt: new Date(task.fireAt).toISOString() }));
        if (task.final !== undefined && task.final > ts) {
          scheduleTimer(engine.seq++, segmentEnd(task.final), task.action, { final: task.final });
        } else if (task.retry && task.retry.attempt + 1 <= task.retry.options.maxNumberOfAttempts) {
          const chain = { options: task.retry.options, attempt: task.retry.attempt + 1 };
          const id = engine.seq++;
          if (task.retry.target.kind === 'activity') scheduleActivity(id, task.retry.target.name, task.retry.target.input, task.action, chain);
          else scheduleSub(id, task.retry.target, task.action, chain);
        }
        break;
      }
    }

    // 2. Replay.
    const fn = this.orchestrator(record.name);
    let state: OrchestratorState | undefined;
    let error: string | undefined;
    if (!fn) {
      error = NOT_FOUND_REASON(record.name, 'an orchestrator');
    } else {
      const payload = {
        history: [...past.map((e) => ({ ...e, IsPlayed: true })), ...fresh.map((e) => ({ ...e, IsPlayed: false }))],
        input: parseJson(record.input),
        instanceId: record.instanceId,
        isReplaying: past.length > 0,
        parentInstanceId: engine.parent?.instanceId ?? null,
        upperSchemaVersion: 1,
        upperSchemaVersionNew: REPLAY_SCHEMA_V3,
        longRunningTimerIntervalDuration: this.o.settings.longRunningTimerIntervalDuration,
        maximumShortTimerDuration: this.o.settings.maximumShortTimerDuration,
        defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
      };
      try {
        const { response } = await this.o.invoker.invoke(fn, [{ name: fn.triggerBindingName, data: { string: JSON.stringify(payload) } }]);
        const rv = response.returnValue;
        const text = typeof rv?.json === 'string' ? rv.json : typeof rv?.string === 'string' ? rv.string : undefined;
        if (text === undefined) throw new Error('The orchestrator returned no state');
        state = JSON.parse(text) as OrchestratorState;
      } catch (err) {
        const parsed = parseOrchestratorFailure(err instanceof FunctionInvocationError ? err.cause : err);
        state = parsed.state;
        error = parsed.state?.error ?? parsed.message;
      }
    }
    if (inst.removed) return;
    if (state?.customStatus !== undefined) record.customStatus = JSON.stringify(state.customStatus);

    // 3. New actions, cancellations, completion.
    const finalEvents: HistoryEvent[] = [];
    let failure: FailureDetailsPayload | undefined = state?.failureDetails;
    if (error === undefined && state) {
      const actions = flattenActions(state.actions);
      for (let j = engine.cursor; j < actions.length && error === undefined; j++) {
        const a: OrchestratorAction = actions[j];
        switch (a.actionType) {
          case ActionType.CallActivity:
            scheduleActivity(engine.seq++, a.functionName ?? '', a.input, j);
            break;
          case ActionType.CallActivityWithRetry:
            scheduleActivity(engine.seq++, a.functionName ?? '', a.input, j, { options: a.retryOptions!, attempt: 1 });
            break;
          case ActionType.CallSubOrchestrator:
          case ActionType.CallSubOrchestratorWithRetry: {
            const chain = a.actionType === ActionType.CallSubOrchestratorWithRetry ? { options: a.retryOptions!, attempt: 1 } : undefined;
            scheduleSub(engine.seq++, { kind: 'sub', name: a.functionName ?? '', instanceId: a.instanceId || undefined, input: a.input, version: a.version }, j, chain);
            break;
          }
          case ActionType.CreateTimer: {
            const fireAt = Date.parse(a.fireAt ?? '');
            if (Number.isNaN(fireAt)) {
              error = `Invalid timer fireAt "${String(a.fireAt)}"`;
              break;
            }
            if (fireAt - ts > maximumShortTimerMs) scheduleTimer(engine.seq++, segmentEnd(fireAt), j, { final: fireAt });
            else scheduleTimer(engine.seq++, fireAt, j);
            break;
          }
          case ActionType.WaitForExternalEvent:
          case ActionType.ContinueAsNew:
            break;
          default:
            error = `Action type ${a.actionType} (${Object.entries(ActionType).find(([, v]) => v === a.actionType)?.[0] ?? 'unknown'}) is not supported by devhost`;
        }
      }
      engine.cursor = actions.length;
      actions.forEach((a, j) => {
        if (a.actionType !== ActionType.CreateTimer || !a.isCanceled) return;
        for (const [key, t] of Object.entries(engine.tasks)) {
          if (t.kind === 'timer' && t.action === j && !t.retry) {
            delete engine.tasks[key];
            effects.cancelTimers.push(Number(key));
            effects.timers = effects.timers.filter((x) => x.id !== Number(key));
          }
        }
      });
      if (error === undefined && state.isDone) {
        const can = actions.find((a) => a.actionType === ActionType.ContinueAsNew);
        effects.cancelTimers.push(...Object.keys(engine.tasks).map(Number));
        if (can) {
          const input = typeof can.input === 'string' ? parseJson(can.input) : can.input;
          const next = freshEngine(engine);
          next.version = engine.version;
          this.rememberConsumed(next, consumed);
          if (record.historyRows > 0) effects.deleteHistoryBefore = record.generation + 1;
          record.generation += 1;
          record.historyLength = 0;
          record.historyRows = 0;
          record.historyTail = null;
          record.status = 'ContinuedAsNew';
          record.input = input === undefined ? null : JSON.stringify(input);
          effects.activities = [];
          effects.timers = [];
          effects.children = [];
          effects.continuedAsNew = true;
          this.o.logger.info(`Instance ${record.instanceId} continued as new (generation ${record.generation})`);
          await this.commit(inst, next, record, past, [], consumed, effects);
          return;
        }
        record.status = 'Completed';
        record.output = state.output === undefined ? null : JSON.stringify(state.output);
        finalEvents.push(event(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Completed', Result: record.output }));
        effects.notifyParent = { outcome: { ok: true, result: record.output ?? 'null' } };
      }
    }
    if (error !== undefined) {
      const message = `Orchestrator function '${record.name}' failed: ${error}`;
      failure = failure ?? { ErrorType: 'OrchestrationFailureException', ErrorMessage: message };
      record.status = 'Failed';
      record.output = JSON.stringify(message);
      engine.failure = failure;
      finalEvents.push(event(EventType.ExecutionCompleted, ts, { OrchestrationStatus: 'Failed', Result: record.output, FailureDetails: failure }));
      effects.notifyParent = { outcome: { ok: false, reason: message, details: null, failure } };
      this.o.logger.error(`Instance ${record.instanceId}: ${message}`);
    }
    if (TERMINAL_STATUSES.has(record.status)) {
      effects.cancelTimers.push(...Object.keys(engine.tasks).map(Number));
      effects.activities = [];
      effects.timers = [];
      effects.children = [];
      engine.tasks = {};
      consumed = [...consumed, ...this.queuedRowKeys(inst)];
    }
    this.rememberConsumed(engine, consumed);
    const events = [...fresh, ...scheduled, event(EventType.OrchestratorCompleted, ts), ...finalEvents];
    await this.commit(inst, engine, record, past, events, consumed, effects);
  }
}
