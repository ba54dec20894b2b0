/**
 * What clients ask of the engine (the Durable HTTP API and the durable client binding call these):
 * start, raise, terminate / suspend / resume, status, list and purge. Every change is acknowledged
 * only after its row is written.
 */
import { randomUUID } from 'node:crypto';
import { TERMINAL_STATUSES, type InstanceRecord, type RuntimeStatus } from '../storage/durable-store';
import { NOT_FOUND_REASON, freshEngine, parseJson, type ControlResult, type EngineOptions, type Message, type ParentLink } from './engine-state';
import { formatHistory } from './history-view';
import type { LiveInstances } from './live-instances';
import type { Mailbox } from './mailbox';
import type { HistoryEvent } from './protocol';

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

export type StartResult = { status: 'created'; instanceId: string } | { status: 'badRequest' | 'conflict'; message: string };

const DEFAULT_PAGE_SIZE = 100;

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Instance ids: 1-256 characters, none of `/ \\ # ?` or control characters (Azure Table key rules). */
function isValidInstanceId(id: string): boolean {
  if (id.length < 1 || id.length > 256) return false;
  for (const ch of id) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || ch === '/' || ch === '\\' || ch === '#' || ch === '?') return false;
  }
  return true;
}

function toPayload(r: InstanceRecord, showInput: boolean): StatusPayload {
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

function matches(r: InstanceRecord, q: ListQuery): boolean {
  if (q.runtimeStatus?.length && !q.runtimeStatus.includes(r.status)) return false;
  if (q.createdTimeFrom !== undefined && r.createdTime < q.createdTimeFrom) return false;
  if (q.createdTimeTo !== undefined && r.createdTime > q.createdTimeTo) return false;
  if (q.instanceIdPrefix && !r.instanceId.startsWith(q.instanceIdPrefix)) return false;
  return true;
}

export class ControlApi {
  private readonly starting = new Map<string, Promise<unknown>>();

  constructor(
    private readonly o: EngineOptions,
    private readonly live: LiveInstances,
    private readonly mailbox: Mailbox,
  ) {}

  /**
   * Creates an instance; resolves once it is durably written. An id in use by a finished instance is
   * reused; one in use by an unfinished instance is refused under `NonRunningStates` and replaced
   * under `AnyState`, as the extension's dedupe statuses decide.
   */
  startNew(name: string, instanceId: string | undefined, input: string | null, opts: { version?: string; parent?: ParentLink } = {}): Promise<StartResult> {
    if (!this.live.orchestrator(name)) return Promise.resolve({ status: 'badRequest', message: NOT_FOUND_REASON(name, 'an orchestrator') });
    const id = instanceId ?? randomUUID().replace(/-/g, '');
    if (!isValidInstanceId(id)) return Promise.resolve({ status: 'badRequest', message: `Invalid instance id "${id}"` });
    // Starts of one id are serialized: a replacement waits for the old execution's episode to commit.
    const previous = this.starting.get(id) ?? Promise.resolve();
    const started = previous.then(() => this.create(name, id, input, opts));
    const settled = started.catch(() => undefined);
    this.starting.set(id, settled);
    void settled.then(() => {
      if (this.starting.get(id) === settled) this.starting.delete(id);
    });
    return started;
  }

  private async create(name: string, id: string, input: string | null, opts: { version?: string; parent?: ParentLink }): Promise<StartResult> {
    const refuseRunning = this.o.settings.overridableExistingInstanceStates === 'NonRunningStates';
    const live = this.live.get(id);
    // DurableTask.AzureStorage's message when an instance in a dedupe status exists.
    const conflict = (r: InstanceRecord) => ({ status: 'conflict' as const, message: `An Orchestration instance with the status ${r.status} already exists.` });
    if (live && refuseRunning && !TERMINAL_STATUSES.has(live.record.status)) return conflict(live.record);
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
    // Queued client messages (events, terminate…) name the instance, not an execution: they go to the new one.
    let carried: Message[] = [];
    // A new id is one write; only when a row exists is it read, to refuse a running instance or reuse the id.
    if (live || !(await this.o.store.createInstance(record))) {
      const previous = live?.record ?? (await this.o.store.readInstance(id));
      if (previous && refuseRunning && !TERMINAL_STATUSES.has(previous.status)) return conflict(previous);
      if (live) {
        carried = live.queue.filter((m) => 'rowKey' in m && m.rowKey !== undefined);
        // The old execution stops here; its activities may still finish, but their results carry its
        // generation and are dropped, as DTFx drops messages of another ExecutionId.
        this.live.remove(live);
        await this.live.whenIdle(live);
      }
      record.generation = previous ? previous.generation + 1 : 0;
      await this.o.store.writeInstance(record);
      if (previous) void this.o.store.deleteOldHistory(id, record.generation).catch(() => undefined);
    }
    if (this.o.cluster && !this.o.cluster.owns(id)) {
      // Its partition's owner loads it from the row just written and starts it.
      await this.o.cluster.notify(id);
      return { status: 'created', instanceId: id };
    }
    const inst = this.live.adopt(record);
    inst.history = [];
    for (const m of [{ kind: 'start' } as const, ...carried]) this.mailbox.deliver(id, m);
    return { status: 'created', instanceId: id };
  }

  /** Queues an external event (accepted while Pending, Running or Suspended). */
  async raiseEvent(instanceId: string, name: string, dataJson: string): Promise<ControlResult> {
    const record = await this.live.currentRecord(instanceId);
    if (!record) return 'notFound';
    if (TERMINAL_STATUSES.has(record.status)) return 'gone';
    return this.mailbox.queueDurable(instanceId, { kind: 'event', name, input: dataJson });
  }

  /** Queues terminate / suspend / resume. */
  async control(instanceId: string, kind: 'terminate' | 'suspend' | 'resume', reason: string | null): Promise<ControlResult> {
    const record = await this.live.currentRecord(instanceId);
    if (!record) return 'notFound';
    if (TERMINAL_STATUSES.has(record.status)) return 'gone';
    return this.mailbox.queueDurable(instanceId, { kind, reason });
  }

  /** Status of one instance, or undefined when unknown. */
  async getStatus(instanceId: string, opts: StatusOptions = {}): Promise<StatusPayload | undefined> {
    const inst = this.live.get(instanceId);
    const record = this.live.visible(instanceId) ?? (await this.o.store.readInstance(instanceId));
    if (!record) return undefined;
    const payload = toPayload(record, opts.showInput !== false);
    if (opts.showHistory) {
      const history =
        inst?.history && inst.record === record
          ? inst.history
          : ((await this.o.store.readHistory(instanceId, record.generation, record.historyRows, record.historyTail)) as HistoryEvent[]);
      payload.historyEvents = formatHistory(history, Boolean(opts.showHistoryOutput), opts.showInput !== false);
    }
    return payload;
  }

  /** One page of instances in instance id order; `continuationToken` resumes after the last one. */
  async list(q: ListQuery): Promise<{ items: StatusPayload[]; continuationToken?: string }> {
    const top = q.top && q.top > 0 ? q.top : DEFAULT_PAGE_SIZE;
    const after = q.continuationToken ? Buffer.from(q.continuationToken, 'base64url').toString('utf8') : undefined;
    const items: StatusPayload[] = [];
    let last: string | undefined;
    let more = false;
    for await (const r of this.o.store.listInstances(after)) {
      if (!matches(r, q)) continue;
      if (items.length === top) {
        more = true;
        break;
      }
      items.push(toPayload(this.live.visible(r.instanceId) ?? r, q.showInput !== false));
      last = r.instanceId;
    }
    return { items, continuationToken: more && last !== undefined ? Buffer.from(last, 'utf8').toString('base64url') : undefined };
  }

  /** Deletes an instance with its history and queued messages; false when unknown. */
  async purge(instanceId: string): Promise<boolean> {
    const inst = this.live.get(instanceId);
    if (inst) this.live.remove(inst);
    return this.o.store.purge(instanceId);
  }

  /** Purges every instance matching the filter (default: finished ones); resolves with the count. */
  async purgeBy(q: ListQuery): Promise<number> {
    const statuses = q.runtimeStatus?.length ? q.runtimeStatus : [...TERMINAL_STATUSES];
    const ids: string[] = [];
    for await (const r of this.o.store.listInstances()) {
      if (matches(r, { ...q, runtimeStatus: statuses })) ids.push(r.instanceId);
    }
    let n = 0;
    for (const id of ids) if (await this.purge(id)) n++;
    return n;
  }
}
