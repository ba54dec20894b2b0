/**
 * A worker process, as the Node.js language worker is one on Azure: forked by the host with the app
 * folder as its argument, it provides `@azure/functions-core`, loads the app, reports its functions
 * and the programming model's `HttpUri`, and runs the invocations the host sends. Its answers and log
 * lines go to the host batched per event-loop turn, in order. It exits when the host goes away.
 * @see https://github.com/Azure/azure-functions-nodejs-worker/blob/v3.x/src/eventHandlers/WorkerInitHandler.ts
 */
import { loadApp, terminateApp } from '../app-loader';
import { installCoreApi, type FunctionMetadata, type RegisteredFunction } from '../core-api';
import { FunctionInvocationError, Invoker } from '../invoker';
import type { HostLogger } from '../log';
import { MessageBatch } from './message-batch';
import { payloadBytes, toThrownValue, type HostToWorker, type LogLine, type WorkerToHost } from './protocol';

/** Everything for the host, one `process.send` per turn; log lines join the log message queued last. */
const outbox = new MessageBatch<WorkerToHost>(
  (batch) => {
    if (process.connected) process.send!(batch);
  },
  (message, err) => {
    // A response the channel cannot carry (a function in it) fails the invocation rather than the worker.
    if (message.type !== 'result') throw err;
    outbox.push({ type: 'error', id: message.id, error: toThrownValue(err) });
  },
  payloadBytes,
);
// What an app's `process.exit()` leaves queued (the invocation's log lines above all) still reaches the host.
process.on('exit', outbox.flush);

const send = (message: WorkerToHost): void => outbox.push(message);

const logger: HostLogger = {
  info: (message) => queueLine('i', message),
  error: (message) => queueLine('e', message),
};

function queueLine(level: LogLine[0], message: string): void {
  const line: LogLine = [level, message];
  outbox.push({ type: 'log', lines: [line] }, (last) => last.type === 'log' && last.lines.push(line) > 0);
}

/** Stream mode: whether the handler gave an HTTP response (the model then sends it on the forwarded request). */
function httpResponseProduced(fn: RegisteredFunction, handlerResult: unknown, context: unknown): boolean {
  if (fn.triggerType !== 'httpTrigger') return false;
  const out = Object.entries(fn.bindings).find(([, b]) => b.direction === 'out' && b.type.toLowerCase() === 'http')?.[0];
  if (out === undefined || out === '$return') return handlerResult !== undefined && handlerResult !== null;
  const value = (context as { extraOutputs?: { get(name: string): unknown } } | undefined)?.extraOutputs?.get(out);
  return value !== undefined && value !== null;
}

const metadataOf = ({ name, bindings, triggerBindingName, triggerType }: RegisteredFunction): FunctionMetadata => ({ name, bindings, triggerBindingName, triggerType });

async function main(appDir: string): Promise<void> {
  // The host killed (even by SIGKILL) closes the channel: no worker outlives its host.
  process.on('disconnect', () => process.exit(0));
  const registry = installCoreApi();
  registry.logSink = (level, category, message) => {
    if (level === 'error' || level === 'critical' || level === 'warning') logger.info(`[${category}] ${message}`);
  };
  let httpUri: string | undefined;
  try {
    httpUri = await loadApp(appDir, registry);
  } catch (err) {
    send({ type: 'failed', message: (err as Error).message });
    return;
  }
  const invoker = new Invoker(registry, logger);
  process.on('message', (batch: HostToWorker[]) => {
    for (const message of batch) handle(message);
  });
  const handle = (message: HostToWorker): void => {
    if (message.type === 'terminate') {
      terminateApp(registry).then(
        () => send({ type: 'terminated' }),
        (err: unknown) => send({ type: 'terminated', error: String(err) }),
      );
      return;
    }
    const { id } = message;
    const fn = registry.functions.get(message.functionName);
    if (!fn) return send({ type: 'error', id, error: toThrownValue(new Error(`No function ${message.functionName} in this worker`)) });
    invoker.invoke(fn, message.inputs, message.triggerMetadata, message.invocationId).then(
      (result) => send({ type: 'result', id, response: result.response, httpResponseProduced: httpResponseProduced(fn, result.handlerResult, result.context) }),
      (err: unknown) => send({ type: 'error', id, error: toThrownValue(err instanceof FunctionInvocationError ? err.cause : err) }),
    );
  };
  send({ type: 'ready', functions: [...registry.functions.values()].map(metadataOf), httpUri });
}

void main(process.argv[2]);
