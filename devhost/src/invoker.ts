/**
 * Invokes a registered function the way the Node.js worker's InvocationHandler does: invocation model →
 * arguments → preInvocation hooks → handler → postInvocation hooks → RPC response. Every trigger goes
 * through here so the programming model's own conversions run.
 * @see https://github.com/Azure/azure-functions-nodejs-worker/blob/v3.x/src/eventHandlers/InvocationHandler.ts
 */
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import type { CoreRegistry, FunctionCallback, RegisteredFunction, RpcInvocationResponse, RpcTypedData } from './core-api';
import type { HostLogger } from './log';

export interface InvocationInput {
  name: string;
  data: RpcTypedData | null | undefined;
}

export interface InvocationResult {
  invocationId: string;
  response: RpcInvocationResponse;
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

export class Invoker {
  constructor(
    private readonly registry: CoreRegistry,
    private readonly logger: HostLogger,
  ) {}

  /** Runs `fn` with the given RPC inputs; resolves with the RPC response, rejects with FunctionInvocationError. */
  async invoke(fn: RegisteredFunction, inputData: InvocationInput[], triggerMetadata?: Record<string, RpcTypedData>): Promise<InvocationResult> {
    const invocationId = randomUUID();
    const started = Date.now();
    const category = `${fn.name}.Invocation`;
    const coreCtx = {
      invocationId,
      request: { invocationId, functionId: fn.name, inputData, triggerMetadata: triggerMetadata ?? {} },
      metadata: { name: fn.name, bindings: fn.bindings },
      state: undefined as string | undefined,
      log: (level: string, logCategory: string, message: string) => this.userLog(fn.name, invocationId, level, logCategory, message, category),
    };
    try {
      const model = await fn.model.getInvocationModel(coreCtx);
      const hookData: Record<string, unknown> = {};
      const args = await model.getArguments();
      const context = args.context;
      const registry = this.registry;
      const preCtx = {
        get hookData() {
          return hookData;
        },
        set hookData(_v) {
          readOnly('hookData');
        },
        get appHookData() {
          return registry.appHookData;
        },
        set appHookData(_v) {
          readOnly('appHookData');
        },
        get invocationContext() {
          return context;
        },
        set invocationContext(_v) {
          readOnly('invocationContext');
        },
        functionCallback: fn.callback as FunctionCallback,
        inputs: args.inputs,
      };
      coreCtx.state = 'preInvocationHooks';
      try {
        for (const hook of [...registry.hooksFor('preInvocation')]) await hook(preCtx);
      } finally {
        coreCtx.state = undefined;
      }
      const postCtx = {
        get hookData() {
          return hookData;
        },
        set hookData(_v) {
          readOnly('hookData');
        },
        get appHookData() {
          return registry.appHookData;
        },
        set appHookData(_v) {
          readOnly('appHookData');
        },
        get invocationContext() {
          return context;
        },
        set invocationContext(_v) {
          readOnly('invocationContext');
        },
        inputs: preCtx.inputs,
        result: null as unknown,
        error: null as unknown,
      };
      coreCtx.state = 'invocation';
      try {
        postCtx.result = await model.invokeFunction(context, preCtx.inputs, preCtx.functionCallback);
      } catch (err) {
        postCtx.error = err;
      } finally {
        coreCtx.state = undefined;
      }
      coreCtx.state = 'postInvocationHooks';
      try {
        for (const hook of [...registry.hooksFor('postInvocation')]) await hook(postCtx);
      } finally {
        coreCtx.state = undefined;
      }
      if (postCtx.error) throw postCtx.error;
      const response = await model.getResponse(context, postCtx.result);
      this.logger.info(`Executed '${fn.name}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - started}ms)`);
      return { invocationId, response };
    } catch (err) {
      this.logger.error(
        `Executed '${fn.name}' (Failed, Id=${invocationId}, Duration=${Date.now() - started}ms): ${describeError(err)}`,
      );
      throw new FunctionInvocationError(fn.name, invocationId, err);
    }
  }

  private userLog(fnName: string, invocationId: string, level: string, category: string, message: string, _cat: string): void {
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
