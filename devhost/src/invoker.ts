/**
 * Invokes a registered function the way the Node.js worker's InvocationHandler does: invocation model →
 * arguments → preInvocation hooks → handler → postInvocation hooks → RPC response. Every trigger goes
 * through here so the programming model's own conversions run.
 * @see https://github.com/Azure/azure-functions-nodejs-worker/blob/v3.x/src/eventHandlers/InvocationHandler.ts
 */
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import type { CoreRegistry, FunctionCallback, HookCallback, RegisteredFunction, RpcInvocationResponse, RpcTypedData } from './core-api';
import type { HostLogger } from './log';

export interface InvocationInput {
  name: string;
  data: RpcTypedData | null | undefined;
}

export interface InvocationResult {
  invocationId: string;
  response: RpcInvocationResponse;
  /** What the handler returned (after postInvocation hooks); in HTTP stream mode the response travels elsewhere. */
  handlerResult: unknown;
  /** The programming model's context object given to the handler (its `extraOutputs` hold named outputs). */
  context: unknown;
}

/** Raised when the function (or a hook) threw; carries the invocation id for the log and the caller. */
export class FunctionInvocationError extends Error {
  constructor(
    readonly functionName: string,
    readonly invocationId: string,
    readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function readOnly(name: string): never {
  throw new TypeError(`Cannot assign to read only property '${name}'`);
}

/** Hook context fields the worker exposes read-only, as prototype getters (cheap to build per invocation). */
class HookContextBase {
  readonly #hookData: Record<string, unknown>;
  readonly #registry: CoreRegistry;
  readonly #context: unknown;
  constructor(
    hookData: Record<string, unknown>,
    registry: CoreRegistry,
    context: unknown,
    public inputs: unknown[],
  ) {
    this.#hookData = hookData;
    this.#registry = registry;
    this.#context = context;
  }
  get hookData(): Record<string, unknown> {
    return this.#hookData;
  }
  set hookData(_v) {
    readOnly('hookData');
  }
  get appHookData(): Record<string, unknown> {
    return this.#registry.appHookData;
  }
  set appHookData(_v) {
    readOnly('appHookData');
  }
  get invocationContext(): unknown {
    return this.#context;
  }
  set invocationContext(_v) {
    readOnly('invocationContext');
  }
}

class PreInvocationContext extends HookContextBase {
  constructor(
    hookData: Record<string, unknown>,
    registry: CoreRegistry,
    context: unknown,
    inputs: unknown[],
    public functionCallback: FunctionCallback,
  ) {
    super(hookData, registry, context, inputs);
  }
}

class PostInvocationContext extends HookContextBase {
  result: unknown = null;
  error: unknown = null;
}

interface CoreContext {
  invocationId: string;
  request: { invocationId: string; functionId: string; inputData: InvocationInput[]; triggerMetadata: Record<string, RpcTypedData> };
  metadata: { name: string; bindings: RegisteredFunction['bindings'] };
  state: string | undefined;
  log: (level: string, logCategory: string, message: string) => void;
}

async function runHooks(hooks: HookCallback[], ctx: unknown): Promise<void> {
  for (const hook of [...hooks]) await hook(ctx);
}

export class Invoker {
  constructor(
    private readonly registry: CoreRegistry,
    private readonly logger: HostLogger,
  ) {}

  /**
   * Runs `fn` with the given RPC inputs; resolves with the RPC response, rejects with FunctionInvocationError.
   * `invocationId` is given when something else must carry it too (the HTTP stream mode's forwarded request).
   */
  async invoke(
    fn: RegisteredFunction,
    inputData: InvocationInput[],
    triggerMetadata?: Record<string, RpcTypedData>,
    invocationId: string = randomUUID(),
  ): Promise<InvocationResult> {
    const started = Date.now();
    const coreCtx: CoreContext = {
      invocationId,
      request: { invocationId, functionId: fn.name, inputData, triggerMetadata: triggerMetadata ?? {} },
      metadata: { name: fn.name, bindings: fn.bindings },
      state: undefined,
      log: (level, logCategory, message) => this.userLog(fn.name, invocationId, level, logCategory, message),
    };
    try {
      const model = await fn.model.getInvocationModel(coreCtx);
      const hookData: Record<string, unknown> = {};
      const args = await model.getArguments();
      const context = args.context;
      const registry = this.registry;
      const preCtx = new PreInvocationContext(hookData, registry, context, args.inputs, fn.callback);
      const preHooks = registry.hooksFor('preInvocation');
      if (preHooks.length > 0) {
        coreCtx.state = 'preInvocationHooks';
        try {
          await runHooks(preHooks, preCtx);
        } finally {
          coreCtx.state = undefined;
        }
      }
      const postCtx = new PostInvocationContext(hookData, registry, context, preCtx.inputs);
      coreCtx.state = 'invocation';
      try {
        postCtx.result = await model.invokeFunction(context, preCtx.inputs, preCtx.functionCallback);
      } catch (err) {
        postCtx.error = err;
      } finally {
        coreCtx.state = undefined;
      }
      const postHooks = registry.hooksFor('postInvocation');
      if (postHooks.length > 0) {
        coreCtx.state = 'postInvocationHooks';
        try {
          await runHooks(postHooks, postCtx);
        } finally {
          coreCtx.state = undefined;
        }
      }
      if (postCtx.error) throw postCtx.error;
      const response = await model.getResponse(context, postCtx.result);
      this.logger.info(`Executed '${fn.name}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - started}ms)`);
      return { invocationId, response, handlerResult: postCtx.result, context };
    } catch (err) {
      this.logger.error(
        `Executed '${fn.name}' (Failed, Id=${invocationId}, Duration=${Date.now() - started}ms): ${describeError(err)}`,
      );
      throw new FunctionInvocationError(fn.name, invocationId, err);
    }
  }

  private userLog(fnName: string, invocationId: string, level: string, category: string, message: string): void {
    if (category === 'system' && (level === 'debug' || level === 'trace')) return;
    const line = `[${fnName}] ${message}`;
    if (level === 'error' || level === 'critical') this.logger.error(`${line} (Id=${invocationId})`);
    else this.logger.info(line);
  }
}

/** First line of an error's message (orchestrator failures append a large state blob). */
export function describeError(err: unknown): string {
  const msg = err instanceof Error ? err.message : typeof err === 'string' ? err : format('%o', err);
  const cut = msg.indexOf('\n\n$OutOfProcData$:');
  return cut >= 0 ? msg.slice(0, cut) : msg;
}
