/**
 * One episode: deliver the new event, replay the history through the real orchestrator handler,
 * schedule what it asked for with sequence ids allocated exactly as durable-functions does, and commit.
 *
 * Delivery is one new event per episode. The SDK allocates ids for retry timers, re-attempts and
 * long-timer segments while it processes the new event, before user code yields anything new; the
 * episode allocates those follow-ups first and then the new actions, which reproduces its order.
 * Terminate, suspend and resume are episodes too, without a replay.
 */
import { FunctionInvocationError } from '../invoker';
import { WorkerExitedError } from '../worker/worker-pool';
import type { DurableSettings } from '../settings';
import { TERMINAL_STATUSES, type InstanceRecord } from '../storage/durable-store';
import {
  NOT_FOUND_REASON,
  event,
  freshEngine,
  noEffects,
  parseJson,
  type ControlMessage,
  type EngineOptions,
  type EngineState,
  type Instance,
  type Message,
  type OpenTask,
  type RetryChain,
  type RetryTarget,
  type TimerTask,
} from './engine-state';
import { queuedRowKeys, rememberConsumed, type EpisodeCommits } from './episode-commit';
import type { LiveInstances } from './live-instances';
import type { EpisodeHandler } from './mailbox';
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
} from './protocol';

/** The history events and tasks one episode adds, at one timestamp. */
class EpisodeDraft {
  readonly effects = noEffects();
  readonly fresh: HistoryEvent[];
  readonly scheduled: HistoryEvent[] = [];

  constructor(
    readonly engine: EngineState,
    readonly record: InstanceRecord,
    readonly ts: number,
    private readonly settings: DurableSettings,
  ) {
    this.fresh = [event(EventType.OrchestratorStarted, ts)];
  }

  scheduleActivity(id: number, name: string, input: unknown, action: number, chain?: RetryChain): void {
    this.engine.tasks[id] = { kind: 'activity', name, input, action, chain };
    this.scheduled.push(event(EventType.TaskScheduled, this.ts, { Name: name, Input: input === undefined ? null : JSON.stringify(input) }, id));
    this.effects.activities.push({ id, name, input });
  }

  scheduleSub(id: number, target: Extract<RetryTarget, { kind: 'sub' }>, action: number, chain?: RetryChain): void {
    const childId = target.instanceId || `${this.record.instanceId}:${id.toString(16).padStart(4, '0')}`;
    this.engine.tasks[id] = { kind: 'sub', name: target.name, childId, input: target.input, version: target.version, action, chain };
    this.scheduled.push(
      event(EventType.SubOrchestrationInstanceCreated, this.ts, { Name: target.name, InstanceId: childId, Input: target.input === undefined ? null : JSON.stringify(target.input) }, id),
    );
    this.effects.children.push({ id, childId, name: target.name, input: target.input, version: target.version });
  }

  scheduleTimer(id: number, fireAt: number, action: number, extra: Partial<TimerTask> = {}): void {
    this.engine.tasks[id] = { kind: 'timer', fireAt, action, ...extra };
    this.scheduled.push(event(EventType.TimerCreated, this.ts, { FireAt: new Date(fireAt).toISOString() }, id));
    this.effects.timers.push({ id, fireAt });
  }

  /** Next segment of a long timer, by the SDK's rule (LongTimerTask.getNextTimerTask). */
  private segmentEnd(final: number): number {
    return final - this.ts > this.settings.maximumShortTimerMs ? this.ts + this.settings.longRunningTimerIntervalMs : final;
  }

  /** Step 1: the new event, and the follow-up tasks the SDK will track while processing it. */
  receive(msg: Message, delivered: TimerTask | undefined): void {
    const { engine, record, ts } = this;
    switch (msg.kind) {
      case 'start': {
        engine.started = true;
        record.status = 'Running';
        this.fresh.push(
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
        this.fresh.push(event(EventType.EventRaised, ts, { Name: msg.name, Input: msg.input }));
        break;
      case 'task':
      case 'sub': {
        const task = engine.tasks[msg.id] as Extract<OpenTask, { kind: 'activity' | 'sub' }>;
        delete engine.tasks[msg.id];
        const isTask = msg.kind === 'task';
        const o = msg.outcome;
        if (o.ok) {
          this.fresh.push(event(isTask ? EventType.TaskCompleted : EventType.SubOrchestrationInstanceCompleted, ts, { TaskScheduledId: msg.id, Result: o.result }));
        } else {
          this.fresh.push(
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
            this.scheduleTimer(timerId, ts + retryDelayMs(task.chain.options, task.chain.attempt), task.action, { retry: { ...task.chain, target } });
          }
        }
        break;
      }
      case 'timer': {
        const task = delivered!;
        delete engine.tasks[msg.id];
        this.fresh.push(event(EventType.TimerFired, ts, { TimerId: msg.id, FireAt: new Date(task.fireAt).toISOString() }));
        if (task.final !== undefined && task.final > ts) {
          this.scheduleTimer(engine.seq++, this.segmentEnd(task.final), task.action, { final: task.final });
        } else if (task.retry && task.retry.attempt + 1 <= task.retry.options.maxNumberOfAttempts) {
          const chain = { options: task.retry.options, attempt: task.retry.attempt + 1 };
          const id = engine.seq++;
          if (task.retry.target.kind === 'activity') this.scheduleActivity(id, task.retry.target.name, task.retry.target.input, task.action, chain);
          else this.scheduleSub(id, task.retry.target, task.action, chain);
        }
        break;
      }
    }
  }

  /** Step 3: schedules the actions the replay added and cancels timers it cancelled; an error ends the orchestration. */
  schedule(actions: OrchestratorAction[]): string | undefined {
    const { engine, ts } = this;
    let error: string | undefined;
    for (let j = engine.cursor; j < actions.length && error === undefined; j++) {
      const a = actions[j];
      switch (a.actionType) {
        case ActionType.CallActivity:
          this.scheduleActivity(engine.seq++, a.functionName ?? '', a.input, j);
          break;
        case ActionType.CallActivityWithRetry:
          this.scheduleActivity(engine.seq++, a.functionName ?? '', a.input, j, { options: a.retryOptions!, attempt: 1 });
          break;
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry: {
          const chain = a.actionType === ActionType.CallSubOrchestratorWithRetry ? { options: a.retryOptions!, attempt: 1 } : undefined;
          this.scheduleSub(engine.seq++, { kind: 'sub', name: a.functionName ?? '', instanceId: a.instanceId || undefined, input: a.input, version: a.version }, j, chain);
          break;
        }
        case ActionType.CreateTimer: {
          const fireAt = Date.parse(a.fireAt ?? '');
          if (Number.isNaN(fireAt)) {
            error = `Invalid timer fireAt "${String(a.fireAt)}"`;
            break;
          }
          if (fireAt - ts > this.settings.maximumShortTimerMs) this.scheduleTimer(engine.seq++, this.segmentEnd(fireAt), j, { final: fireAt });
          else this.scheduleTimer(engine.seq++, fireAt, j);
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
          this.effects.cancelTimers.push(Number(key));
          this.effects.timers = this.effects.timers.filter((x) => x.id !== Number(key));
        }
      }
    });
    return error;
  }

  /** Nothing scheduled survives a finished execution. */
  dropScheduled(): void {
    this.effects.activities = [];
    this.effects.timers = [];
    this.effects.children = [];
  }
}

export class Episodes implements EpisodeHandler {
  constructor(
    private readonly o: EngineOptions,
    private readonly live: LiveInstances,
    private readonly commits: EpisodeCommits,
  ) {}

  writeUnwritten(inst: Instance): Promise<void> {
    return this.commits.writeUnwritten(inst);
  }

  /** Runs one episode: deliver `msg`, replay, schedule what the orchestrator asked for, commit. */
  async episode(inst: Instance, msg: Message, consumed: string[]): Promise<void> {
    const past = await this.commits.loadHistory(inst);
    const engine: EngineState = structuredClone(inst.engine);
    const record: InstanceRecord = { ...inst.record };
    const delivered = msg.kind === 'timer' ? (engine.tasks[msg.id] as TimerTask) : undefined;
    const now = Date.now();
    const ts = Math.max(now, engine.lastTs, delivered?.fireAt ?? 0);
    engine.lastTs = ts;
    record.lastUpdatedTime = now;
    const draft = new EpisodeDraft(engine, record, ts, this.o.settings);
    const { effects } = draft;

    draft.receive(msg, delivered);
    const replayed = await this.replay(record, engine, past, draft.fresh);
    const { state } = replayed;
    let { error } = replayed;
    if (inst.removed) return;
    if (state?.customStatus !== undefined) record.customStatus = JSON.stringify(state.customStatus);

    const finalEvents: HistoryEvent[] = [];
    let failure: FailureDetailsPayload | undefined = state?.failureDetails;
    if (error === undefined && state) {
      const actions = flattenActions(state.actions);
      error = draft.schedule(actions);
      if (error === undefined && state.isDone) {
        const can = actions.find((a) => a.actionType === ActionType.ContinueAsNew);
        effects.cancelTimers.push(...Object.keys(engine.tasks).map(Number));
        if (can) return this.continueAsNew(inst, draft, can, past, consumed);
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
      draft.dropScheduled();
      engine.tasks = {};
      consumed = [...consumed, ...queuedRowKeys(inst)];
    }
    rememberConsumed(engine, consumed);
    const events = [...draft.fresh, ...draft.scheduled, event(EventType.OrchestratorCompleted, ts), ...finalEvents];
    await this.commits.commit(inst, engine, record, past, events, consumed, effects);
  }

  /** Step 2: the orchestrator's state after replaying `past` and the new events, or why it failed. */
  private async replay(
    record: InstanceRecord,
    engine: EngineState,
    past: HistoryEvent[],
    fresh: HistoryEvent[],
  ): Promise<{ state?: OrchestratorState; error?: string }> {
    const fn = this.live.orchestrator(record.name);
    if (!fn) return { error: NOT_FOUND_REASON(record.name, 'an orchestrator') };
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
      const { response } = await this.o.invoker.forInstance(record.instanceId).invoke(fn, [{ name: fn.triggerBindingName, data: { string: JSON.stringify(payload) } }]);
      const rv = response.returnValue;
      const text = typeof rv?.json === 'string' ? rv.json : typeof rv?.string === 'string' ? rv.string : undefined;
      if (text === undefined) throw new Error('The orchestrator returned no state');
      return { state: JSON.parse(text) as OrchestratorState };
    } catch (err) {
      // The worker died mid-replay: the episode is retried (the extension aborts the work item), not failed.
      if (err instanceof WorkerExitedError) throw err;
      const parsed = parseOrchestratorFailure(err instanceof FunctionInvocationError ? err.cause : err);
      return { state: parsed.state, error: parsed.state?.error ?? parsed.message };
    }
  }

  /** Ends this generation and queues the next one's start; both are written by that start's episode. */
  private async continueAsNew(inst: Instance, draft: EpisodeDraft, can: OrchestratorAction, past: HistoryEvent[], consumed: string[]): Promise<void> {
    const { engine, record, effects } = draft;
    const input = typeof can.input === 'string' ? parseJson(can.input) : can.input;
    const next = freshEngine(engine);
    next.version = engine.version;
    rememberConsumed(next, consumed);
    if (record.historyRows > 0) effects.deleteHistoryBefore = record.generation + 1;
    record.generation += 1;
    record.historyLength = 0;
    record.historyRows = 0;
    record.historyTail = null;
    record.status = 'ContinuedAsNew';
    record.input = input === undefined ? null : JSON.stringify(input);
    draft.dropScheduled();
    effects.continuedAsNew = true;
    this.o.logger.info(`Instance ${record.instanceId} continued as new (generation ${record.generation})`);
    await this.commits.commit(inst, next, record, past, [], consumed, effects);
  }

  /** Terminate, suspend or resume: history events without a replay. */
  async control(inst: Instance, msg: ControlMessage, consumed: string[]): Promise<void> {
    const history = await this.commits.loadHistory(inst);
    const now = Date.now();
    const engine = structuredClone(inst.engine);
    const record: InstanceRecord = { ...inst.record, lastUpdatedTime: now };
    const events: HistoryEvent[] = [];
    const effects = noEffects();
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
      consumed = [...consumed, ...queuedRowKeys(inst)];
      const reason = `Orchestration '${record.name}' was terminated: ${msg.reason ?? ''}`;
      effects.notifyParent = { outcome: { ok: false, reason, details: null, failure: { ErrorType: 'OrchestrationTerminated', ErrorMessage: reason } } };
    }
    rememberConsumed(engine, consumed);
    await this.commits.commit(inst, engine, record, history, events, consumed, effects);
  }

  private async commitOnly(inst: Instance, engine: EngineState, record: InstanceRecord, consumed: string[]): Promise<void> {
    rememberConsumed(engine, consumed);
    await this.commits.commit(inst, engine, record, await this.commits.loadHistory(inst), [], consumed, noEffects());
  }
}
