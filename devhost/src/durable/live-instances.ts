/** The instances this host is running, held in memory between episodes, and the registered functions they call. */
import type { FunctionMetadata } from '../core-api';
import type { InstanceRecord } from '../storage/durable-store';
import { freshEngine, type EngineOptions, type EngineState, type Instance } from './engine-state';

export class LiveInstances {
  private readonly byId = new Map<string, Instance>();
  /** Set by stop(): no new episodes start and no timers are armed. */
  stopping = false;
  private readonly idleWaiters = new Set<() => void>();

  constructor(private readonly o: EngineOptions) {}

  get(instanceId: string): Instance | undefined {
    return this.byId.get(instanceId);
  }

  all(): IterableIterator<Instance> {
    return this.byId.values();
  }

  orchestrator(name: string): FunctionMetadata | undefined {
    const fn = this.o.functions.get(name);
    return fn?.triggerType === 'orchestrationTrigger' ? fn : undefined;
  }

  activity(name: string): FunctionMetadata | undefined {
    const fn = this.o.functions.get(name);
    return fn?.triggerType === 'activityTrigger' ? fn : undefined;
  }

  /** The instance's row: from memory while it runs here (as written, while a continueAsNew is not), else from the store. */
  async currentRecord(instanceId: string): Promise<InstanceRecord | undefined> {
    return this.visible(instanceId) ?? (await this.o.store.readInstance(instanceId));
  }

  /** What status reads see of an instance running here. */
  visible(instanceId: string): InstanceRecord | undefined {
    const inst = this.byId.get(instanceId);
    return inst && (inst.written ?? inst.record);
  }

  adopt(record: InstanceRecord): Instance {
    const inst: Instance = {
      record,
      engine: JSON.parse(record.engine) as EngineState,
      queue: [],
      busy: false,
      timers: new Map(),
      removed: false,
    };
    if (!inst.engine.tasks) Object.assign(inst.engine, freshEngine());
    this.byId.set(record.instanceId, inst);
    return inst;
  }

  remove(inst: Instance): void {
    inst.removed = true;
    for (const t of inst.timers.values()) clearTimeout(t);
    inst.timers.clear();
    inst.queue.length = 0;
    if (this.byId.get(inst.record.instanceId) === inst) this.byId.delete(inst.record.instanceId);
  }

  /** Resolves once `inst` has no episode in progress (its last commit is written or failed). */
  whenIdle(inst: Instance): Promise<void> {
    if (!inst.busy) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (inst.busy) return;
        this.idleWaiters.delete(check);
        resolve();
      };
      this.idleWaiters.add(check);
    });
  }

  /** Called whenever an instance stops being busy. */
  notifyIdle(): void {
    for (const w of [...this.idleWaiters]) w();
  }

  /** Stops timers and waits (bounded) for episodes in progress to commit. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const inst of this.byId.values()) for (const t of inst.timers.values()) clearTimeout(t);
    const busy = () => [...this.byId.values()].some((i) => i.busy);
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
}
