/**
 * Carries out what a committed episode scheduled: invokes activities, arms timers, starts children,
 * notifies the parent; results come back to the mailbox tagged with the generation that asked.
 */
import type { RpcTypedData } from '../core-api';
import { FunctionInvocationError, describeError } from '../invoker';
import { TERMINAL_STATUSES, type InstanceRecord } from '../storage/durable-store';
import {
  NOT_FOUND_REASON,
  parseJson,
  type EngineOptions,
  type EngineState,
  type Effects,
  type Instance,
  type Message,
  type ParentLink,
  type TaskOutcome,
} from './engine-state';
import type { LiveInstances } from './live-instances';
import type { FailureDetailsPayload } from './protocol';
import { WorkerExitedError } from '../worker/worker-pool';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const REDELIVER_AFTER_WORKER_EXIT_MS = 1000;

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

export type StartChild = (
  name: string,
  instanceId: string,
  input: string | null,
  opts: { version?: string; parent: ParentLink },
) => Promise<{ status: 'created' } | { status: 'badRequest' | 'conflict'; message: string }>;

export class Dispatcher {
  constructor(
    private readonly o: EngineOptions,
    private readonly live: LiveInstances,
    private readonly deliver: (instanceId: string, message: Message) => void,
    private readonly startChild: StartChild,
  ) {}

  /** Applies a committed episode's effects to the running instance. */
  apply(inst: Instance, effects: Effects): void {
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

  runActivity(inst: Instance, id: number, name: string, input: unknown): void {
    const generation = inst.record.generation;
    const instanceId = inst.record.instanceId;
    const fn = this.live.activity(name);
    if (!fn) {
      const reason = NOT_FOUND_REASON(name, 'an activity');
      const failure: FailureDetailsPayload = { ErrorType: 'FunctionNotFound', ErrorMessage: reason };
      setImmediate(() => this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: false, reason, details: null, failure } }));
      return;
    }
    const data = activityInput(input);
    const run = (): Promise<void> =>
      this.o.invoker.invoke(fn, [{ name: fn.triggerBindingName, data }, ...(this.o.clientInputs?.(fn) ?? [])]).then(
        ({ response }) => this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: true, result: resultJson(response.returnValue) } }),
        (err: unknown) => {
          // Its worker died: the work item is redelivered (as the extension aborts it), not failed.
          if (err instanceof WorkerExitedError) {
            if (this.live.stopping) return;
            return new Promise<void>((r) => setTimeout(r, REDELIVER_AFTER_WORKER_EXIT_MS)).then(run);
          }
          const cause = err instanceof FunctionInvocationError ? err.cause : err;
          const failure = failureDetailsOf(cause);
          const reason = `Activity function '${name}' failed: ${failure.ErrorMessage}`;
          this.deliver(instanceId, { kind: 'task', id, generation, outcome: { ok: false, reason, details: failure.StackTrace ?? null, failure } });
          return undefined;
        },
      );
    // At-least-once fault switch: a second run once the first has settled; its result finds the task closed.
    void run().then(() => (this.o.faults?.activityTwice ? run() : undefined));
  }

  armTimer(inst: Instance, id: number, fireAt: number): void {
    if (this.live.stopping) return;
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
  async ensureChild(inst: Instance, id: number, childId: string, name: string, input: unknown, version?: string): Promise<void> {
    const parent = { instanceId: inst.record.instanceId, taskId: id, generation: inst.record.generation };
    const fail = (reason: string) =>
      this.deliver(parent.instanceId, {
        kind: 'sub',
        id,
        generation: parent.generation,
        outcome: { ok: false, reason, details: null, failure: { ErrorType: 'OrchestrationFailureException', ErrorMessage: reason } },
      });
    try {
      const existing = this.live.get(childId)?.record ?? (await this.o.store.readInstance(childId));
      if (existing) {
        const link = (JSON.parse(existing.engine) as EngineState).parent;
        const ours = link && link.instanceId === parent.instanceId && link.taskId === id && link.generation === parent.generation;
        if (ours) {
          if (TERMINAL_STATUSES.has(existing.status)) this.deliver(parent.instanceId, { kind: 'sub', id, generation: parent.generation, outcome: outcomeOf(existing) });
          return;
        }
      }
      const res = await this.startChild(name, childId, input === undefined ? null : JSON.stringify(input), { version, parent });
      if (res.status !== 'created') fail(res.message);
    } catch (err) {
      this.o.logger.error(`Instance ${parent.instanceId}: could not start sub-orchestration ${childId}: ${describeError(err)}`);
      fail(`Could not start sub-orchestration '${name}': ${describeError(err)}`);
    }
  }
}

/** A finished child's outcome as its parent's task sees it. */
function outcomeOf(r: InstanceRecord): TaskOutcome {
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
