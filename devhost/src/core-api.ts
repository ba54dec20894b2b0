/**
 * The `@azure/functions-core` module, provided the way the Node.js worker provides it: a Proxy on
 * `Module.prototype.require` that answers that one module name for every copy of `@azure/functions`
 * the app loads.
 * @see https://github.com/Azure/azure-functions-nodejs-worker/blob/v3.x/src/setupCoreModule.ts
 */
import Module = require('node:module');

/** Binding description as registered by the programming model (keyed by binding name). */
export interface BindingInfo {
  type: string;
  direction?: string;
  name?: string;
  [key: string]: unknown;
}

/** The programming model object handed over by `@azure/functions` (`setProgrammingModel`). */
export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): InvocationModel | Promise<InvocationModel>;
  getCapabilities?(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

/** One invocation's model, as the worker drives it. */
export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

export type FunctionCallback = (...args: unknown[]) => unknown;
export type HookCallback = (context: unknown) => unknown;

/** RPC typed data, the wire form of every value crossing host ↔ worker. */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  int?: number | null;
  double?: number | null;
  http?: Record<string, unknown> | null;
  [key: string]: unknown;
}

export interface RpcInvocationResponse {
  invocationId?: string;
  outputData?: { name?: string; data?: RpcTypedData | null }[] | null;
  returnValue?: RpcTypedData | null;
}

/** What the host knows of a function: plain data, the same on both sides of the worker's IPC channel. */
export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingInfo>;
  triggerBindingName: string;
  triggerType: string;
}

/** A function registered by the app, in the worker that loaded it. */
export interface RegisteredFunction extends FunctionMetadata {
  callback: FunctionCallback;
  /** The programming model of the `@azure/functions` copy that registered it. */
  model: ProgrammingModel;
}

class Disposable {
  #onDispose?: () => unknown;
  constructor(onDispose: () => unknown) {
    this.#onDispose = onDispose;
  }
  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((d) => d.dispose()));
  }
  dispose(): unknown {
    const fn = this.#onDispose;
    this.#onDispose = undefined;
    return fn?.();
  }
}

/** What the app registered through the core API. */
export class CoreRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks = new Map<string, HookCallback[]>();
  readonly appHookData: Record<string, unknown> = {};
  readonly appLevelOnlyHookData: Record<string, unknown> = {};
  programmingModel?: ProgrammingModel;
  locked = false;
  logSink: (level: string, category: string, message: string) => void = () => undefined;

  hooksFor(name: string): HookCallback[] {
    let list = this.hooks.get(name);
    if (!list) {
      list = [];
      this.hooks.set(name, list);
    }
    return list;
  }

  /** The object `require('@azure/functions-core')` returns. */
  createCoreApi(): Record<string, unknown> {
    return {
      version: '3.10.1',
      hostVersion: '4.1036.0',
      registerHook: (name: string, callback: HookCallback) => {
        const list = this.hooksFor(name);
        list.push(callback);
        return new Disposable(() => {
          const i = list.indexOf(callback);
          if (i >= 0) list.splice(i, 1);
        });
      },
      setProgrammingModel: (model: ProgrammingModel) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      log: (level: string, category: string, message: string) => this.logSink(level, category, message),
      registerFunction: (metadata: { name: string; functionId?: string; bindings: Record<string, BindingInfo> }, callback: FunctionCallback) =>
        this.registerFunction(metadata, callback),
      Disposable,
    };
  }

  private registerFunction(
    metadata: { name: string; functionId?: string; bindings: Record<string, BindingInfo> },
    callback: FunctionCallback,
  ): Disposable {
    if (this.locked) throw new Error('A function can only be registered during app startup.');
    const id = metadata.functionId || metadata.name;
    if (this.functions.has(id)) throw new Error(`A function with id "${id}" has already been registered.`);
    if (!this.programmingModel) throw new Error(`Function "${id}" was registered before a programming model was set.`);
    const trigger = Object.entries(metadata.bindings).find(([, b]) => /trigger$/i.test(b.type));
    if (!trigger) throw new Error(`Function "${id}" has no trigger binding.`);
    this.functions.set(id, {
      name: metadata.name,
      bindings: metadata.bindings,
      callback,
      model: this.programmingModel,
      triggerBindingName: trigger[0],
      triggerType: trigger[1].type,
    });
    return new Disposable(() => {
      if (this.locked) throw new Error('A function can only be disposed during app startup.');
      this.functions.delete(id);
    });
  }
}

let installed: { registry: CoreRegistry } | undefined;

/**
 * Installs the `require` Proxy once per process and returns the registry behind it. Must run before
 * the app first touches `@azure/functions`, which caches its lookup of the core module.
 */
export function installCoreApi(): CoreRegistry {
  if (installed) return installed.registry;
  const registry = new CoreRegistry();
  const coreApi = registry.createCoreApi();
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: unknown[]) {
      if (args[0] === '@azure/functions-core') return coreApi;
      return Reflect.apply(target, thisArg, args);
    },
  });
  installed = { registry };
  return registry;
}
