/**
 * Resuming instances from storage: at start-up, when this host takes a partition over from another
 * (every unfinished instance of it), and when a note says an instance's inbox has something new.
 * Queued inbox messages are delivered (those an instance already consumed are deleted), activities
 * that were running run again (at-least-once), timers are re-armed from their recorded due time,
 * children are re-checked; an episode not written before a crash runs again from the last written state.
 */
import { TERMINAL_STATUSES, type InboxMessage, type InstanceRecord } from '../storage/durable-store';
import type { Dispatcher } from './dispatch';
import type { EngineOptions, Instance, Message } from './engine-state';
import type { LiveInstances } from './live-instances';
import type { Mailbox } from './mailbox';

export class Recovery {
  constructor(
    private readonly o: EngineOptions,
    private readonly live: LiveInstances,
    private readonly mailbox: Mailbox,
    private readonly dispatcher: Dispatcher,
  ) {}

  /** Resumes every unfinished instance `include` selects that does not run here yet; resolves with their number. */
  async recoverWhere(include: (instanceId: string) => boolean = () => true): Promise<number> {
    const pending: Instance[] = [];
    for await (const record of this.o.store.listInstances()) {
      if (TERMINAL_STATUSES.has(record.status) || !include(record.instanceId) || this.live.get(record.instanceId)) continue;
      pending.push(this.live.adopt(record));
    }
    const resumed = new Set(pending);
    for (const m of await this.o.store.listMessages()) {
      if (!include(m.instanceId)) continue;
      const inst = this.live.get(m.instanceId);
      if (inst && !resumed.has(inst)) continue; // already running here: its own deliveries cover it
      if (inst) this.enqueue(inst, m);
      else if (await this.isGone(m.instanceId)) await this.o.store.deleteMessage(m.instanceId, m.rowKey);
    }
    for (const inst of pending) this.resume(inst);
    return pending.length;
  }

  /** Takes in what an instance's inbox holds: loads the instance when it does not run here. */
  async refresh(instanceId: string): Promise<void> {
    const inst = this.live.get(instanceId);
    if (inst) {
      const stored = await this.o.store.readInstance(instanceId);
      if (stored && stored.createdTime !== inst.record.createdTime && stored.status === 'Pending') {
        // Replaced by a startNew on another host: the old execution stops here, the new one starts.
        this.live.remove(inst);
        await this.live.whenIdle(inst);
        return this.refresh(instanceId);
      }
      for (const m of await this.o.store.listInstanceMessages(instanceId)) this.enqueue(inst, m);
      this.mailbox.kick(inst);
      return;
    }
    const record: InstanceRecord | undefined = await this.o.store.readInstance(instanceId);
    const messages = await this.o.store.listInstanceMessages(instanceId);
    if (!record || TERMINAL_STATUSES.has(record.status)) {
      for (const m of messages) await this.o.store.deleteMessage(instanceId, m.rowKey);
      return;
    }
    if (this.live.get(instanceId)) return this.refresh(instanceId); // loaded meanwhile
    const adopted = this.live.adopt(record);
    for (const m of messages) this.enqueue(adopted, m);
    this.resume(adopted);
  }

  /** Queues an inbox message unless the instance already has it or consumed it. */
  private enqueue(inst: Instance, m: InboxMessage): void {
    if (inst.engine.consumed.includes(m.rowKey)) {
      void this.o.store.deleteMessage(m.instanceId, m.rowKey).catch(() => undefined);
      return;
    }
    // One being processed right now may be queued again: it is dropped as consumed once its episode commits.
    if (inst.queue.some((q) => 'rowKey' in q && q.rowKey === m.rowKey)) return;
    inst.queue.push({ ...(JSON.parse(m.body) as Message), rowKey: m.rowKey } as Message);
  }

  /** No unfinished instance of that id (another host may have created one since the list was read). */
  private async isGone(instanceId: string): Promise<boolean> {
    const record = await this.o.store.readInstance(instanceId);
    return !record || TERMINAL_STATUSES.has(record.status);
  }

  private resume(inst: Instance): void {
    const { engine } = inst;
    if (!engine.started && !inst.queue.some((m) => m.kind === 'start')) inst.queue.unshift({ kind: 'start' });
    for (const [key, task] of Object.entries(engine.tasks)) {
      const id = Number(key);
      if (task.kind === 'activity') this.dispatcher.runActivity(inst, id, task.name, task.input);
      else if (task.kind === 'timer') this.dispatcher.armTimer(inst, id, task.fireAt);
      else void this.dispatcher.ensureChild(inst, id, task.childId, task.name, task.input, task.version);
    }
    this.mailbox.kick(inst);
  }
}
