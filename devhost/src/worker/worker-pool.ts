/**
 * The host's side of the language workers: `FUNCTIONS_WORKER_PROCESS_COUNT` worker processes (1 to
 * 10, default 1, as on Azure), each forked from `worker-main.js` with an IPC channel. HTTP and other
 * invocations go round-robin over the workers, as the Functions host's load balancer spreads them; an
 * orchestrator's episodes go to the worker its instance id hashes to, so one instance replays in one
 * process. A worker that exits unexpectedly fails its invocations in flight (a runtime error: durable
 * work is then retried, as the extension aborts the work item) and is started again.
 * @see https://github.com/Azure/azure-functions-host/blob/dev/src/WebJobs.Script/Workers/Rpc/FunctionRegistration/RpcFunctionInvocationDispatcherLoadBalancer.cs
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { FunctionMetadata, RpcInvocationResponse, RpcTypedData } from '../core-api';
import { fnv1a } from '../durable/partitions';
import { resolveModelEndpoint, type ModelEndpoint } from '../http/http-stream';
import { FunctionInvocationError, type InvocationInput } from '../invoker';
import type { HostLogger } from '../log';
import { MessageBatch } from './message-batch';
import { fromThrownValue, payloadBytes, type HostToWorker, type WorkerToHost } from './protocol';

const WORKER_ENTRY = path.join(__dirname, 'worker-main.js');
const MAX_WORKER_PROCESSES = 10;
const RESTART_RETRY_MS = 1000;
const EXIT_WAIT_MS = 1000;

export interface InvocationOutcome {
  invocationId: string;
  response: RpcInvocationResponse;
  /** HTTP stream mode: whether the handler produced a response (the model then sends it on the forwarded request). */
  httpResponseProduced: boolean;
}

/** Runs a function somewhere; rejects with FunctionInvocationError when it threw, WorkerExitedError when its worker died. */
export interface FunctionInvoker {
  invoke(fn: FunctionMetadata, inputData: InvocationInput[], triggerMetadata?: Record<string, RpcTypedData>, invocationId?: string): Promise<InvocationOutcome>;
}

/** The invoker the durable engine uses: anywhere for activities, on the instance's own worker for episodes. */
export interface DurableInvoker extends FunctionInvoker {
  forInstance(instanceId: string): FunctionInvoker;
}

/** The invocation's worker process exited before it answered: not the function's failure. */
export class WorkerExitedError extends Error {}

/** `FUNCTIONS_WORKER_PROCESS_COUNT`, checked as the Functions host bounds it. */
export function readWorkerProcessCount(env: NodeJS.ProcessEnv): number {
  const text = env.FUNCTIONS_WORKER_PROCESS_COUNT;
  if (text === undefined || text.trim() === '') return 1;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKER_PROCESSES) {
    throw new Error(`FUNCTIONS_WORKER_PROCESS_COUNT "${text}" must be a whole number from 1 to ${MAX_WORKER_PROCESSES}`);
  }
  return n;
}

interface Pending {
  resolve(outcome: InvocationOutcome): void;
  reject(err: unknown): void;
  functionName: string;
  invocationId: string;
  started: number;
}

/** One running worker process, from its `ready` on. */
export class WorkerProcess implements FunctionInvoker {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  exited = false;

  constructor(
    private readonly child: ChildProcess,
    /** The child's channel, batched per turn (shared with the slot's terminate, so order holds). */
    private readonly outbox: MessageBatch<HostToWorker>,
    readonly functions: FunctionMetadata[],
    /** Stream mode: the model's server in this process, with its own keep-alive agent. */
    readonly model: ModelEndpoint | undefined,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  invoke(fn: FunctionMetadata, inputs: InvocationInput[], triggerMetadata?: Record<string, RpcTypedData>, invocationId: string = randomUUID()): Promise<InvocationOutcome> {
    if (this.exited || !this.child.connected) return Promise.reject(new WorkerExitedError(`The worker process for '${fn.name}' has exited`));
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, functionName: fn.name, invocationId, started: Date.now() });
      this.outbox.push({ type: 'invoke', id, functionName: fn.name, inputs, triggerMetadata, invocationId });
    });
  }

  /** An invocation the channel could not carry fails alone (as a throwing `send` failed it before batching). */
  refuse(id: number, err: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(err);
  }

  /** An answer from the worker. */
  settle(message: Extract<WorkerToHost, { type: 'result' | 'error' }>): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    if (message.type === 'result') p.resolve({ invocationId: p.invocationId, response: message.response, httpResponseProduced: message.httpResponseProduced });
    else p.reject(new FunctionInvocationError(p.functionName, p.invocationId, fromThrownValue(message.error)));
  }

  /** The process is gone: what it was running fails, each with its invocation's log line. */
  failInFlight(logger: HostLogger, why: string): void {
    this.exited = true;
    this.model?.agent.destroy();
    for (const p of this.pending.values()) {
      logger.error(`Executed '${p.functionName}' (Failed, Id=${p.invocationId}, Duration=${Date.now() - p.started}ms): ${why}`);
      p.reject(new WorkerExitedError(why));
    }
    this.pending.clear();
  }
}

interface SlotOptions {
  appDir: string;
  logger: HostLogger;
  /** Whether the pool is stopping (an exit is then expected). */
  stopping: () => boolean;
}

/** A place for one worker process: the process in it now, started again when it dies. */
class WorkerSlot implements FunctionInvoker {
  private current: Promise<WorkerProcess>;
  private child?: ChildProcess;
  private outbox?: MessageBatch<HostToWorker>;
  private terminated?: () => void;

  constructor(
    readonly index: number,
    private readonly o: SlotOptions,
  ) {
    this.current = this.spawn();
    this.current.catch(() => undefined); // awaited by start(); a failure is reported there
  }

  /** The slot's worker, once it has loaded the app. */
  process(): Promise<WorkerProcess> {
    return this.current;
  }

  async invoke(fn: FunctionMetadata, inputs: InvocationInput[], triggerMetadata?: Record<string, RpcTypedData>, invocationId?: string): Promise<InvocationOutcome> {
    return (await this.current).invoke(fn, inputs, triggerMetadata, invocationId);
  }

  private spawn(): Promise<WorkerProcess> {
    const { logger } = this.o;
    // execArgv is inherited, so a host run with --cpu-prof profiles its workers too.
    const child = fork(WORKER_ENTRY, [this.o.appDir], { serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    let worker: WorkerProcess | undefined;
    // Once the channel has closed, what is still queued is dropped: the exit fails its invocations.
    const outbox = new MessageBatch<HostToWorker>(
      (batch) => {
        if (child.connected) child.send(batch);
      },
      (message, err) => {
        if (message.type !== 'invoke') throw err;
        worker?.refuse(message.id, err);
      },
      payloadBytes,
    );
    this.outbox = outbox;
    // What the app writes itself (console.*) reaches the host's log a line at a time, never torn.
    for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => logger.info(line));
    return new Promise<WorkerProcess>((resolve, reject) => {
      const receive = (m: WorkerToHost): void => {
        switch (m.type) {
          case 'log':
            for (const [level, text] of m.lines) {
              if (level === 'e') logger.error(text);
              else logger.info(text);
            }
            return;
          case 'result':
          case 'error':
            return worker?.settle(m);
          case 'ready':
            void (async () => {
              const model = m.httpUri ? await resolveModelEndpoint(m.httpUri) : undefined;
              worker = new WorkerProcess(child, outbox, m.functions, model);
              resolve(worker);
            })().catch(reject);
            return;
          case 'failed':
            child.disconnect();
            return reject(new Error(m.message));
          case 'terminated':
            if (m.error) logger.error(`appTerminate hook failed: ${m.error}`);
            this.terminated?.();
        }
      };
      child.on('message', (batch: WorkerToHost[]) => {
        for (const m of batch) receive(m);
      });
      // A send racing the worker's death fails with EPIPE; the exit that follows fails its invocations.
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) reject(err);
        else if (err.code !== 'EPIPE') logger.error(`Worker process ${this.index} (pid ${child.pid}): ${err.message}`);
      });
      child.once('exit', (code, signal) => {
        const how = signal ? `signal ${signal}` : `code ${code}`;
        reject(new Error(`The worker process exited (${how}) before it loaded the app`));
        if (!worker) return;
        const why = `Worker process ${this.index} (pid ${worker.pid}) exited unexpectedly (${how})`;
        worker.failInFlight(logger, why);
        if (this.o.stopping()) return;
        logger.error(`${why}; starting it again`);
        this.current = this.respawn();
        this.current.catch(() => undefined); // only when the host stops meanwhile: its callers see WorkerExitedError
      });
    });
  }

  /** Starts the slot's process again until it loads the app (or the pool stops). */
  private async respawn(): Promise<WorkerProcess> {
    for (;;) {
      try {
        return await this.spawn();
      } catch (err) {
        if (this.o.stopping()) throw new WorkerExitedError('The host is stopping');
        this.o.logger.error(`Worker process ${this.index} did not start: ${(err as Error).message}; trying again`);
        await new Promise((r) => setTimeout(r, RESTART_RETRY_MS));
      }
    }
  }

  /** Runs the app's `appTerminate` hooks in the process. */
  terminate(): Promise<void> {
    const child = this.child;
    if (!child?.connected) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.terminated = resolve;
      this.outbox!.push({ type: 'terminate' });
    });
  }

  /** Closes the channel (the worker exits on that), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    this.outbox?.flush(); // what is queued goes before the channel closes
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }
}

export class WorkerPool implements DurableInvoker {
  private readonly slots: WorkerSlot[] = [];
  private turn = 0;
  private stopping = false;

  constructor(o: { appDir: string; count: number; logger: HostLogger }) {
    for (let i = 0; i < o.count; i++) this.slots.push(new WorkerSlot(i, { appDir: o.appDir, logger: o.logger, stopping: () => this.stopping }));
  }

  get size(): number {
    return this.slots.length;
  }

  /** Resolves with the app's functions once every worker has loaded it; rejects (all stopped) when one could not. */
  async start(): Promise<FunctionMetadata[]> {
    try {
      const workers = await Promise.all(this.slots.map((s) => s.process()));
      return workers[0].functions;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The next worker in turn (HTTP requests, activities, timers). */
  next(): WorkerSlot {
    const slot = this.slots[this.turn];
    this.turn = (this.turn + 1) % this.slots.length;
    return slot;
  }

  invoke(fn: FunctionMetadata, inputs: InvocationInput[], triggerMetadata?: Record<string, RpcTypedData>, invocationId?: string): Promise<InvocationOutcome> {
    return this.next().invoke(fn, inputs, triggerMetadata, invocationId);
  }

  forInstance(instanceId: string): FunctionInvoker {
    return this.slots[fnv1a(instanceId) % this.slots.length];
  }

  /** `appTerminate` hooks, in every worker. */
  async terminate(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.terminate()));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((s) => s.stop()));
  }
}
