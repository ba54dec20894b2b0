/**
 * The local Functions host: settings, storage (embedded Azurite for development storage), the app's
 * worker processes (which load it through its own `@azure/functions` and `durable-functions`), one
 * HTTP server for `/api` triggers and the Durable HTTP API, the orchestration engine and timers.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveEntryPoints } from './app-loader';
import type { FunctionMetadata, RpcTypedData } from './core-api';
import { clientBindingData, RPC_PATH, WEBHOOK_PATH } from './durable/client-binding';
import { Cluster } from './durable/cluster';
import { DurableEngine } from './durable/engine';
import { DurableHttpApi } from './durable/http-api';
import { forwardToModel, pipeModelResponse, streamTriggerMetadata } from './http/http-stream';
import { canonicalTarget } from './http/canonical-target';
import { readBody, toRpcHttpRequest, writeRpcHttpResponse } from './http/http-trigger';
import { RouteTable } from './http/route-table';
import type { InvocationInput } from './invoker';
import { describeFaults, failingWrites, readFaultSwitches } from './faults';
import { createLogger, type HostLogger } from './log';
import { applySettings, readHostSettings, readLocalSettingsValues } from './settings';
import { ensureAzurite, type EmbeddedAzurite } from './storage/azurite';
import { parseConnectionString } from './storage/connection-string';
import { DurableStore } from './storage/durable-store';
import { resolveHostId, startTimerTriggers } from './timers/timer-triggers';
import { readWorkerProcessCount, WorkerPool } from './worker/worker-pool';

export interface HostOptions {
  /** The app folder (its package.json, host.json, local.settings.json, node_modules). */
  appDir: string;
  /** Port to listen on; 0 picks a free one. Default: env PORT or 7071. */
  port?: number;
  /** Address to listen on. Default: env HOST or 127.0.0.1. */
  host?: string;
  /** Extra environment variables; they win over local.settings.json like the real environment. */
  env?: Record<string, string>;
  logger?: HostLogger;
  /** Names this host in logs and in the leases it holds. Default: env DEVHOST_WORKER_ID, else `<hostname>-<pid>`. */
  workerId?: string;
}

export interface RunningHost {
  url: string;
  port: number;
  /** Stops serving, lets in-flight episodes commit (bounded), runs appTerminate hooks, stops Azurite it started. */
  stop(): Promise<void>;
}

const DURABLE_TRIGGERS = new Set(['orchestrationTrigger', 'activityTrigger', 'entityTrigger']);
const TIMER_TRIGGER = 'timerTrigger';
const CLIENT_BINDINGS = new Set(['durableClient', 'orchestrationClient']);
/** Azurite's share of the 5 s SIGTERM budget (it gets SIGKILL after that). */
const STOP_BUDGET_MS = 2000;

let started = false;

/** What an HTTP trigger needs per request, worked out once per function. */
interface HttpRoute {
  fn: FunctionMetadata;
  /** Durable client inputs (their binding data never changes while the host runs). */
  clientInputs: InvocationInput[];
  /** Name of the HTTP output binding when it is not `$return`. */
  httpOut?: string;
}

function httpRoute(fn: FunctionMetadata, clientData: string): HttpRoute {
  const clientInputs: InvocationInput[] = [];
  let httpOut: string | undefined;
  let found = false;
  for (const [name, b] of Object.entries(fn.bindings)) {
    if (b.direction === 'in' && CLIENT_BINDINGS.has(b.type)) clientInputs.push({ name, data: { string: clientData } });
    if (!found && b.direction === 'out' && b.type.toLowerCase() === 'http') {
      found = true;
      if (name !== '$return') httpOut = name;
    }
  }
  return { fn, clientInputs, httpOut };
}

const EMPTY_BODY = Buffer.alloc(0);

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

/** Starts a host for one app. One host per process: settings are applied to the process environment, which its workers inherit. */
export async function startHost(options: HostOptions): Promise<RunningHost> {
  if (started) throw new Error('devhost runs one app per process');
  started = true;
  const appDir = path.resolve(options.appDir);
  const logger = options.logger ?? createLogger();
  for (const [k, v] of Object.entries(options.env ?? {})) process.env[k] = v;
  applySettings(readLocalSettingsValues(appDir), process.env);
  const settings = readHostSettings(appDir);
  const workerId = options.workerId ?? process.env.DEVHOST_WORKER_ID ?? `${os.hostname()}-${process.pid}`;
  // Each Azure instance has its own WEBSITE_INSTANCE_ID; functions can tell hosts apart the same way here.
  process.env.WEBSITE_INSTANCE_ID ??= workerId;
  await resolveEntryPoints(appDir); // fail fast, before any storage is started
  const workerCount = readWorkerProcessCount(process.env);

  const listenHost = options.host ?? process.env.HOST ?? '127.0.0.1';
  const requestedPort = options.port ?? (process.env.PORT ? Number(process.env.PORT) : 7071);
  let ready = false;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> = async () => undefined;
  const server = http.createServer((req, res) => {
    if (!ready) {
      res.writeHead(503, { 'retry-after': '1', 'content-length': '0' }).end();
      return;
    }
    handler(req, res).catch((err: unknown) => {
      // The path only: a query may carry an OAuth code or state.
      logger.error(`Request ${req.method} ${(req.url ?? '').split('?')[0]} failed: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  const port = await listen(server, requestedPort, listenHost);
  const publicHost = listenHost === '0.0.0.0' || listenHost === '::' ? 'localhost' : listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const origin = `http://${publicHost}:${port}`;
  process.env.WEBSITE_HOSTNAME = `${publicHost}:${port}`;

  let azurite: EmbeddedAzurite | undefined;
  let engine: DurableEngine | undefined;
  let timers: { stop(): Promise<void> } | undefined;
  let cluster: Cluster | undefined;
  let workers: WorkerPool | undefined;
  try {
    const storageSetting = process.env.AzureWebJobsStorage;
    const account = storageSetting ? parseConnectionString(storageSetting) : undefined;
    if (account?.development) {
      azurite = await ensureAzurite({ location: path.join(appDir, '.azurite'), logger });
    }
    // The workers inherit the environment as it is now (settings applied, WEBSITE_HOSTNAME set).
    const pool = new WorkerPool({ appDir, count: workerCount, logger });
    workers = pool;
    // Everything below (the engine's recovery included) starts only once every worker has loaded the app.
    const fns = await pool.start();
    const streamMode = (await pool.next().process()).model !== undefined;
    logger.info(`Worker processes: ${workerCount}${streamMode ? ' (HTTP stream mode: requests are forwarded to each worker\'s programming model server)' : ''}`);
    const usesDurable = fns.some((f) => DURABLE_TRIGGERS.has(f.triggerType) || Object.values(f.bindings).some((b) => CLIENT_BINDINGS.has(b.type)));
    let api: DurableHttpApi | undefined;
    if (usesDurable) {
      if (!account) throw new Error('The app uses Durable Functions but AzureWebJobsStorage is not set');
      const faults = readFaultSwitches(process.env);
      for (const fault of describeFaults(faults)) logger.info(`Fault switch on: ${fault}`);
      const plainStore = new DurableStore(account.connectionString, settings.durable.hubName);
      await plainStore.init();
      const store = faults.failWrites > 0 ? failingWrites(plainStore, faults.failWrites, logger) : plainStore;
      const activityClientData = JSON.stringify(clientBindingData(origin, `http://127.0.0.1:${port}`, settings.durable.hubName));
      cluster = new Cluster({ connectionString: account.connectionString, hubName: settings.durable.hubName, workerId, settings: settings.durable, logger });
      engine = new DurableEngine({
        store,
        functions: new Map(fns.map((f) => [f.name, f])),
        invoker: pool,
        logger,
        settings: settings.durable,
        faults,
        clientInputs: (fn) => httpRoute(fn, activityClientData).clientInputs,
        cluster,
      });
      api = new DurableHttpApi(engine, settings.durable.hubName, () => origin);
      const recovered = await cluster.start(engine);
      if (recovered) logger.info(`Resumed ${recovered} unfinished orchestration instance(s)`);
    }

    const clientData = JSON.stringify(clientBindingData(origin, `http://127.0.0.1:${port}`, settings.durable.hubName));
    const routes = new RouteTable<HttpRoute>();
    for (const fn of fns) {
      const trigger = fn.bindings[fn.triggerBindingName];
      if (fn.triggerType === 'httpTrigger') {
        const route = typeof trigger.route === 'string' && trigger.route ? trigger.route : fn.name;
        routes.add(route, Array.isArray(trigger.methods) ? (trigger.methods as string[]) : undefined, httpRoute(fn, clientData));
        logger.info(`Function ${fn.name}: [${(trigger.methods as string[] | undefined)?.join(',') ?? 'ALL'}] ${origin}/${settings.routePrefix ? settings.routePrefix + '/' : ''}${route}`);
      } else if (fn.triggerType === TIMER_TRIGGER) {
        // Logged with its schedule when its listener starts.
      } else if (!DURABLE_TRIGGERS.has(fn.triggerType)) {
        logger.info(`Function ${fn.name}: ${fn.triggerType} is not supported by devhost; it will not run`);
      } else {
        logger.info(`Function ${fn.name}: ${fn.triggerType}`);
      }
    }
    const prefix = settings.routePrefix ? `/${settings.routePrefix}` : '';

    const invokeHttp = async (route: HttpRoute, params: Record<string, string>, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
      const url = `http://${req.headers.host ?? `${publicHost}:${port}`}${req.url ?? '/'}`;
      const inputs: InvocationInput[] = [{ name: route.fn.triggerBindingName, data: toRpcHttpRequest(req, url, params, body) }, ...route.clientInputs];
      let value: RpcTypedData | null | undefined;
      try {
        const { response } = await pool.invoke(route.fn, inputs);
        value = route.httpOut === undefined ? response.returnValue : response.outputData?.find((o) => o.name === route.httpOut)?.data;
      } catch {
        res.writeHead(500, { 'content-length': '0' }).end();
        return;
      }
      writeRpcHttpResponse(res, value);
    };

    /** Stream mode: the body is piped to the model's HttpUri while the invocation runs; the answer streams back. */
    const invokeHttpStream = async (route: HttpRoute, params: Record<string, string>, req: http.IncomingMessage, res: http.ServerResponse) => {
      // The forward goes to the model server of the worker that runs the invocation.
      const worker = await pool.next().process();
      const url = `http://${req.headers.host ?? `${publicHost}:${port}`}${req.url ?? '/'}`;
      const rpc = toRpcHttpRequest(req, url, params, EMPTY_BODY);
      const headers = (rpc.http as { headers: Record<string, string> }).headers;
      const metadata = streamTriggerMetadata(headers, url.includes('?') ? new URL(url).searchParams : new URLSearchParams(), params);
      const invocationId = randomUUID();
      const forwarded = forwardToModel(worker.model!, invocationId, req, `${publicHost}:${port}`);
      // The model writes the whole body before the invocation resolves, so the client gets it as it is produced.
      const piped = forwarded.response.then((answer) => answer && pipeModelResponse(answer, res));
      const inputs: InvocationInput[] = [{ name: route.fn.triggerBindingName, data: rpc }, ...route.clientInputs];
      let produced: boolean;
      try {
        produced = (await worker.invoke(route.fn, inputs, metadata, invocationId)).httpResponseProduced;
      } catch {
        forwarded.abort();
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-length': '0' }).end();
        return;
      }
      if (!produced) {
        forwarded.abort();
        return void res.writeHead(204).end();
      }
      if (!(await forwarded.response)) {
        if (!res.headersSent) res.writeHead(502, { 'content-length': '0' }).end();
        return;
      }
      await piped;
    };

    const matchFunction = (p: string, method: string) => {
      if (prefix !== '' && p !== prefix && !p.startsWith(`${prefix}/`)) return undefined;
      return routes.match(p.slice(prefix.length), method);
    };

    handler = async (req, res) => {
      const target = req.url ?? '/';
      // As behind App Service's front end: everything routes on, and sees, the canonical URL; the
      // target as sent travels in X-WAWS-Unencoded-URL (a client's own value is overwritten).
      const { path: p, search } = canonicalTarget(target);
      req.url = p + search;
      req.headers['x-waws-unencoded-url'] = target;
      if (streamMode) {
        // Stream mode: a function's body is never read here; everything else is handled as below.
        const match = matchFunction(p, req.method ?? 'GET');
        if (match) return invokeHttpStream(match.target, match.params, req, res);
      }
      const body = await readBody(req);
      for (const base of [WEBHOOK_PATH, RPC_PATH]) {
        if (p === base || p.startsWith(`${base}/`)) {
          if (!api) return void res.writeHead(404, { 'content-length': '0' }).end();
          return api.handle(req, res, p.slice(base.length), new URL(req.url, 'http://localhost'), body);
        }
      }
      if (p === '/admin/host/status') {
        const text = JSON.stringify({ state: 'Running' });
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(text);
      }
      const match = matchFunction(p, req.method ?? 'GET');
      if (match) return invokeHttp(match.target, match.params, req, res, body);
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`No function matches ${req.method} ${p}`);
    };
    ready = true;
    timers = await startTimerTriggers({
      functions: fns,
      invoker: pool,
      clientInputs: (fn) => httpRoute(fn, clientData).clientInputs,
      logger,
      connectionString: account?.connectionString,
      hostId: resolveHostId(appDir, process.env),
      workerId,
      singleton: settings.singleton,
    });
    logger.info(`Host started: ${origin} (app ${appDir}, worker '${workerId}')`);
  } catch (err) {
    server.close();
    await timers?.stop();
    await cluster?.stopPolling();
    await cluster?.release();
    await workers?.stop();
    await azurite?.stop();
    started = false;
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      ready = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 500).unref();
      await withTimeout(Promise.all([timers?.stop(), cluster?.stopPolling()]), 400);
      await withTimeout(engine?.stop(1200) ?? Promise.resolve(), 1300);
      await withTimeout(cluster?.release() ?? Promise.resolve(), 300);
      await withTimeout(workers!.terminate(), 800);
      await withTimeout(workers!.stop(), 1100);
      await withTimeout(closed, 600);
      await withTimeout(azurite?.stop() ?? Promise.resolve(), STOP_BUDGET_MS);
    })());
  return { url: origin, port, stop };
}
