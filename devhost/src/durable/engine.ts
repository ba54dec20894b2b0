/**
 * The orchestration engine: per-instance serialized episodes that replay the history through the real
 * orchestrator handler, run activities, timers and sub-orchestrations, and commit each episode to the
 * durable store before acting on it. This module wires its parts:
 *
 * - control-api.ts: what clients ask (start, raise, control, status, list, purge);
 * - mailbox.ts: each instance's queue and drain loop;
 * - episode.ts / episode-commit.ts: one episode, and its write;
 * - dispatch.ts: activities, timers, children and parents after a commit;
 * - recovery.ts: resuming instances from storage (start-up, partitions taken over, inbox notes);
 * - cluster.ts (outside, through `EngineOptions.cluster`): which instances this host runs.
 *
 * Crash model: a start, raise, terminate, suspend or resume is acknowledged only after its row is
 * written. Activity results and timer firings live in memory until the episode that consumes them is
 * committed; on restart, open activities run again (at-least-once), timers are re-armed from their
 * recorded due time, and children are re-checked. A continueAsNew has no effect outside the instance,
 * so it is committed together with the next generation's first episode (one write instead of two); a
 * crash before that write replays from the previous generation's last commit.
 */
import { ControlApi, type ListQuery, type StartResult, type StatusOptions, type StatusPayload } from './control-api';
import { Dispatcher } from './dispatch';
import type { ControlResult, EngineOptions, ParentLink } from './engine-state';
import { Episodes } from './episode';
import { EpisodeCommits } from './episode-commit';
import { LiveInstances } from './live-instances';
import { Mailbox } from './mailbox';
import { Recovery } from './recovery';

export type { ControlResult, EngineOptions } from './engine-state';
export type { ListQuery, StatusOptions, StatusPayload } from './control-api';

export class DurableEngine {
  private readonly live: LiveInstances;
  private readonly api: ControlApi;
  private readonly recovery: Recovery;

  constructor(o: EngineOptions) {
    const live = new LiveInstances(o);
    const dispatcher: Dispatcher = new Dispatcher(
      o,
      live,
      // A child's outcome may be for a parent another host runs; everything else is for this host.
      (instanceId, message) =>
        message.kind === 'sub'
          ? void mailbox.send(instanceId, message).catch((err: unknown) => o.logger.error(`Instance ${instanceId}: could not send a child's outcome: ${(err as Error).message}`))
          : mailbox.deliver(instanceId, message),
      (name, instanceId, input, opts) => api.startNew(name, instanceId, input, opts),
    );
    const mailbox: Mailbox = new Mailbox(o, live, new Episodes(o, live, new EpisodeCommits(o, () => live.stopping, dispatcher)));
    const api: ControlApi = new ControlApi(o, live, mailbox);
    this.live = live;
    this.api = api;
    this.recovery = new Recovery(o, live, mailbox, dispatcher);
    mailbox.loadInstance = (instanceId) => this.recovery.refresh(instanceId);
  }

  /** Loads the unfinished instances `include` selects and resumes their work: queued messages, activities, timers, children. */
  recoverWhere(include?: (instanceId: string) => boolean): Promise<number> {
    return this.recovery.recoverWhere(include);
  }

  /** Takes in an instance's new inbox messages (loading the instance when it does not run here). */
  refresh(instanceId: string): Promise<void> {
    return this.recovery.refresh(instanceId);
  }

  /** Stops running the selected instances here (another host takes them): timers cleared, results dropped. */
  dropWhere(include: (instanceId: string) => boolean): number {
    let n = 0;
    for (const inst of [...this.live.all()]) {
      if (!include(inst.record.instanceId)) continue;
      this.live.remove(inst);
      n++;
    }
    return n;
  }

  startNew(name: string, instanceId: string | undefined, input: string | null, opts: { version?: string; parent?: ParentLink } = {}): Promise<StartResult> {
    return this.api.startNew(name, instanceId, input, opts);
  }

  raiseEvent(instanceId: string, name: string, dataJson: string): Promise<ControlResult> {
    return this.api.raiseEvent(instanceId, name, dataJson);
  }

  control(instanceId: string, kind: 'terminate' | 'suspend' | 'resume', reason: string | null): Promise<ControlResult> {
    return this.api.control(instanceId, kind, reason);
  }

  getStatus(instanceId: string, opts: StatusOptions = {}): Promise<StatusPayload | undefined> {
    return this.api.getStatus(instanceId, opts);
  }

  list(q: ListQuery): Promise<{ items: StatusPayload[]; continuationToken?: string }> {
    return this.api.list(q);
  }

  purge(instanceId: string): Promise<boolean> {
    return this.api.purge(instanceId);
  }

  purgeBy(q: ListQuery): Promise<number> {
    return this.api.purgeBy(q);
  }

  /** Stops timers and waits (bounded) for episodes in progress to commit. */
  stop(timeoutMs: number): Promise<void> {
    return this.live.stop(timeoutMs);
  }
}
