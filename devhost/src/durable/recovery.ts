/**
 * Crash recovery: at start-up every unfinished instance is loaded and its work resumed. Queued inbox
 * messages are delivered (those an instance already consumed are deleted), activities that were
 * running run again (at-least-once), timers are re-armed from their recorded due time, children are
 * re-checked; an episode not written before the crash runs again from the last written state.
 */
import { TERMINAL_STATUSES } from '../storage/durable-store';
import type { Dispatcher } from './dispatch';
import type { EngineOptions, Instance, Message } from './engine-state';
import type { LiveInstances } from './live-instances';
import type { Mailbox } from './mailbox';

/** Resumes every unfinished instance; resolves with their number. */
export async function recoverInstances(o: EngineOptions, live: LiveInstances, mailbox: Mailbox, dispatcher: Dispatcher): Promise<number> {
  const pending: Instance[] = [];
  for await (const record of o.store.listInstances()) {
    if (TERMINAL_STATUSES.has(record.status)) continue;
    pending.push(live.adopt(record));
  }
  for (const m of await o.store.listMessages()) {
    const inst = live.get(m.instanceId);
    if (!inst || inst.engine.consumed.includes(m.rowKey)) {
      await o.store.deleteMessage(m.instanceId, m.rowKey);
      continue;
    }
    inst.queue.push({ ...(JSON.parse(m.body) as Message), rowKey: m.rowKey } as Message);
  }
  for (const inst of pending) {
    const { engine } = inst;
    if (!engine.started) inst.queue.unshift({ kind: 'start' });
    for (const [key, task] of Object.entries(engine.tasks)) {
      const id = Number(key);
      if (task.kind === 'activity') dispatcher.runActivity(inst, id, task.name, task.input);
      else if (task.kind === 'timer') dispatcher.armTimer(inst, id, task.fireAt);
      else void dispatcher.ensureChild(inst, id, task.childId, task.name, task.input, task.version);
    }
    mailbox.kick(inst);
  }
  return pending.length;
}
