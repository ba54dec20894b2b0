/**
 * Each instance's mailbox: durable messages (start, raise, terminate, suspend, resume) are written to
 * the store before they are acknowledged; in-process ones (activity results, timer firings, child
 * outcomes) are queued in memory. One drain loop per instance processes them one episode at a time,
 * drops duplicates and stale results, and retries an episode whose commit failed.
 */
import { describeError } from '../invoker';
import { TERMINAL_STATUSES } from '../storage/durable-store';
import { OwnershipLostError, type ControlMessage, type ControlResult, type EngineOptions, type Instance, type Message } from './engine-state';
import type { LiveInstances } from './live-instances';

const RETRY_AFTER_STORAGE_ERROR_MS = 1000;

/** What turns a message into an episode and its commit. */
export interface EpisodeHandler {
  episode(inst: Instance, msg: Message, consumed: string[]): Promise<void>;
  control(inst: Instance, msg: ControlMessage, consumed: string[]): Promise<void>;
  /** Writes a continueAsNew whose next episode did not run (the host is stopping). */
  writeUnwritten(inst: Instance): Promise<void>;
}

export class Mailbox {
  /** Loads an instance this host owns but has not loaded yet (its partition was taken, a note is pending). */
  loadInstance: (instanceId: string) => Promise<void> = async () => undefined;

  constructor(
    private readonly o: EngineOptions,
    private readonly live: LiveInstances,
    private readonly handler: EpisodeHandler,
  ) {}

  /** Writes a message to the instance's inbox, then queues it; 'gone' when the instance finished meanwhile. */
  async queueDurable(instanceId: string, message: Message): Promise<ControlResult> {
    const rowKey = await this.o.store.addMessage(instanceId, JSON.stringify(message));
    const inst = this.live.get(instanceId);
    if (this.runsElsewhere(instanceId)) {
      await this.o.cluster!.notify(instanceId);
      return 'accepted';
    }
    if (!inst) {
      const record = await this.o.store.readInstance(instanceId);
      if (record && !TERMINAL_STATUSES.has(record.status)) {
        // Ours but not loaded yet (created by another host a moment ago): load it, with this message.
        await this.loadInstance(instanceId);
        return 'accepted';
      }
      // Finished between the check and the write: the row would never be consumed.
      await this.o.store.deleteMessage(instanceId, rowKey);
      return 'gone';
    }
    this.deliver(instanceId, { ...message, rowKey } as Message);
    return 'accepted';
  }

  /** True when another host of the task hub runs the instance. */
  private runsElsewhere(instanceId: string): boolean {
    return this.o.cluster !== undefined && !this.o.cluster.owns(instanceId);
  }

  /**
   * Sends a message that may be for another host's instance (a child's outcome to its parent): in
   * memory when the instance runs here, else written to its inbox with a note for its owner.
   */
  async send(instanceId: string, message: Message): Promise<void> {
    if (!this.runsElsewhere(instanceId)) return this.deliver(instanceId, message);
    await this.o.store.addMessage(instanceId, JSON.stringify(message));
    await this.o.cluster!.notify(instanceId);
  }

  /** Queues a message for an instance running here (late under the delivery-delay fault switch). */
  deliver(instanceId: string, message: Message): void {
    const delay = this.o.faults?.deliveryDelayMs ?? 0;
    if (delay > 0) setTimeout(() => this.enqueue(instanceId, message), delay);
    else this.enqueue(instanceId, message);
  }

  private enqueue(instanceId: string, message: Message): void {
    const inst = this.live.get(instanceId);
    if (!inst || inst.removed) {
      // A durable message whose instance finished while it was on its way (kept when another host runs it now).
      if ('rowKey' in message && message.rowKey && !this.runsElsewhere(instanceId)) void this.o.store.deleteMessage(instanceId, message.rowKey).catch(() => undefined);
      return;
    }
    inst.queue.push(message);
    this.kick(inst);
  }

  kick(inst: Instance): void {
    if (inst.busy || this.live.stopping) return;
    inst.busy = true;
    void this.drain(inst);
  }

  /** A suspended instance takes only control messages; the rest wait in order. */
  private nextIndex(inst: Instance): number {
    if (inst.record.status !== 'Suspended') return inst.queue.length ? 0 : -1;
    return inst.queue.findIndex((m) => m.kind === 'terminate' || m.kind === 'resume' || m.kind === 'suspend');
  }

  private async drain(inst: Instance): Promise<void> {
    try {
      while (!inst.removed && !this.live.stopping) {
        const i = this.nextIndex(inst);
        if (i < 0) break;
        const [message] = inst.queue.splice(i, 1);
        try {
          await this.process(inst, message);
        } catch (err) {
          if (inst.removed) break;
          if (err instanceof OwnershipLostError) {
            this.live.remove(inst);
            // Still this host's partition, but the row changed under it: run it on from what was written.
            if (!this.runsElsewhere(inst.record.instanceId)) {
              this.o.logger.info(`Instance ${inst.record.instanceId} was written by another host meanwhile; reloading it`);
              void this.loadInstance(inst.record.instanceId).catch(() => undefined);
            }
            break;
          }
          this.o.logger.error(`Instance ${inst.record.instanceId}: episode failed, retrying: ${describeError(err)}`);
          inst.queue.splice(i, 0, message);
          await new Promise((r) => setTimeout(r, RETRY_AFTER_STORAGE_ERROR_MS));
        }
      }
      if (inst.unwritten && !inst.removed) await this.handler.writeUnwritten(inst);
    } finally {
      inst.busy = false;
      if (TERMINAL_STATUSES.has(inst.record.status) && !inst.removed) this.live.remove(inst);
      this.live.notifyIdle();
    }
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
    if (msg.kind === 'terminate' || msg.kind === 'suspend' || msg.kind === 'resume') return this.handler.control(inst, msg, consumed);
    if (msg.kind === 'start' && inst.engine.started) return drop();
    if ((msg.kind === 'task' || msg.kind === 'sub' || msg.kind === 'timer') && !isOpen(inst, msg)) return drop();
    return this.handler.episode(inst, msg, consumed);
  }
}

/** Whether a result belongs to a task the current generation still waits for. */
function isOpen(inst: Instance, msg: Extract<Message, { id: number }>): boolean {
  if (msg.generation !== inst.record.generation) return false;
  const task = inst.engine.tasks[msg.id];
  return Boolean(task) && (msg.kind === 'task' ? task.kind === 'activity' : msg.kind === 'sub' ? task.kind === 'sub' : task.kind === 'timer');
}
