/**
 * Writes an episode's outcome to the store (instance row with its history tail, a history row when the
 * tail grows too long, the inbox messages it consumed) and only then lets its effects happen. A
 * continueAsNew is held back and written with the next generation's first episode.
 */
import { describeError } from '../invoker';
import { isStatus } from '../storage/lease';
import { TERMINAL_STATUSES, type EpisodeCommit, type InstanceRecord } from '../storage/durable-store';
import type { Dispatcher } from './dispatch';
import { OwnershipLostError, type Effects, type EngineOptions, type EngineState, type Instance } from './engine-state';
import type { HistoryEvent } from './protocol';

/**
 * The newest history events ride in the instance row, so most episodes write one entity; past this
 * size (JSON characters, under one property's 32 Ki) they move to a history row in the same transaction.
 */
const HISTORY_TAIL_CHARS = 24_000;
const CONSUMED_MEMORY = 64;

export function rememberConsumed(engine: EngineState, consumed: string[]): void {
  if (!consumed.length) return;
  engine.consumed = [...engine.consumed, ...consumed].slice(-CONSUMED_MEMORY);
}

/** Row keys of queued durable messages, deleted with an instance that finishes. */
export function queuedRowKeys(inst: Instance): string[] {
  return inst.queue.flatMap((m) => ('rowKey' in m && m.rowKey ? [m.rowKey] : []));
}

export class EpisodeCommits {
  constructor(
    private readonly o: EngineOptions,
    private readonly isStopping: () => boolean,
    private readonly dispatcher: Dispatcher,
  ) {}

  async loadHistory(inst: Instance): Promise<HistoryEvent[]> {
    if (!inst.history) {
      const r = inst.record;
      inst.history = (await this.o.store.readHistory(r.instanceId, r.generation, r.historyRows, r.historyTail)) as HistoryEvent[];
    }
    return inst.history;
  }

  async commit(
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
    if (continued && !this.isStopping()) {
      inst.written ??= inst.record;
      inst.unwritten = { consumed: allConsumed, deleteHistoryBefore };
    } else {
      await this.ownedCommit({ instance: record, historyRow, consumedMessages: allConsumed });
      inst.unwritten = undefined;
      inst.written = undefined;
      if (deleteHistoryBefore !== undefined) void this.o.store.deleteOldHistory(record.instanceId, deleteHistoryBefore).catch(() => undefined);
    }
    if (inst.removed) return;
    inst.record = record;
    inst.engine = engine;
    inst.history = history;
    if (TERMINAL_STATUSES.has(record.status)) inst.queue.length = 0;
    this.dispatcher.apply(inst, effects);
  }

  /**
   * Only the partition's owner writes an instance, and with several hosts only over the row it last
   * read or wrote (If-Match): a host that lost the partition, or whose instance another host wrote
   * meanwhile (a replacing startNew), must not overwrite that work.
   */
  private async ownedCommit(c: EpisodeCommit): Promise<void> {
    const { cluster } = this.o;
    const id = c.instance.instanceId;
    if (cluster && !cluster.owns(id)) throw new OwnershipLostError(id);
    try {
      await this.o.store.commit(cluster ? { ...c, ifMatch: c.instance.etag } : c);
    } catch (err) {
      if (cluster && isStatus(err, 412)) throw new OwnershipLostError(id);
      throw err;
    }
  }

  /** Writes a continueAsNew whose next episode did not run (the host is stopping); a restart runs that episode. */
  async writeUnwritten(inst: Instance): Promise<void> {
    const { consumed, deleteHistoryBefore } = inst.unwritten!;
    try {
      await this.ownedCommit({ instance: inst.record, consumedMessages: consumed });
      inst.unwritten = undefined;
      inst.written = undefined;
      if (deleteHistoryBefore !== undefined) void this.o.store.deleteOldHistory(inst.record.instanceId, deleteHistoryBefore).catch(() => undefined);
    } catch (err) {
      this.o.logger.error(`Instance ${inst.record.instanceId}: could not write its continueAsNew: ${describeError(err)}`);
    }
  }
}
