/**
 * The Durable Functions HTTP API, on both `/runtime/webhooks/durabletask/` (public) and
 * `/durabletask/` (the SDK's `rpcBaseUrl`), answering as the extension's HttpApiHandler does.
 * @see https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-http-api
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TERMINAL_STATUSES as TERMINAL, type RuntimeStatus } from '../storage/durable-store';
import { managementUrls, WEBHOOK_PATH } from './client-binding';
import type { ControlResult, DurableEngine, ListQuery } from './engine';

const RUNTIME_STATUSES: RuntimeStatus[] = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Suspended'];
const RUNNING: ReadonlySet<RuntimeStatus> = new Set(['Pending', 'Running', 'ContinuedAsNew', 'Suspended']);

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': '0', ...headers }).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function error(res: ServerResponse, status: number, message: string): void {
  send(res, status, { Message: message });
}

function bool(q: URLSearchParams, name: string): boolean | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (/^true$/i.test(v.trim())) return true;
  if (/^false$/i.test(v.trim())) return false;
  return undefined;
}

function time(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function statuses(q: URLSearchParams): RuntimeStatus[] | undefined {
  const list = q
    .getAll('runtimeStatus')
    .flatMap((v) => v.split(','))
    .map((v) => RUNTIME_STATUSES.find((s) => s.toLowerCase() === v.trim().toLowerCase()))
    .filter((s): s is RuntimeStatus => s !== undefined);
  return list.length ? list : undefined;
}

function isJsonMediaType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === '' || type === 'application/json' || type.endsWith('+json');
}

/** Parses a request body as JSON text; empty → `null`; undefined when not JSON. */
function jsonText(body: Buffer): string | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return 'null';
  try {
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}

/**
 * A refused start. HttpApiHandler does not catch the OrchestrationAlreadyExistsException that
 * DurableTask.AzureStorage throws for an id in a dedupe status: its catch-all answers 500 with the
 * exception in the body, as users of the extension report it.
 * @see https://github.com/Azure/azure-functions-durable-extension/blob/dev/src/WebJobs.Extensions.DurableTask/HttpApiHandler.cs (HandleRequestAsync)
 * @see https://github.com/Azure/durabletask/blob/main/src/DurableTask.AzureStorage/AzureStorageOrchestrationService.cs (CreateTaskOrchestrationAsync)
 * @see https://github.com/Azure/azure-functions-durable-python/issues/410
 */
function refused(res: ServerResponse, result: { status: 'badRequest' | 'conflict'; message: string }): void {
  if (result.status === 'badRequest') return error(res, 400, result.message);
  send(res, 500, {
    Message: 'Something went wrong while processing your request',
    ExceptionMessage: result.message,
    ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
  });
}

const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

export class DurableHttpApi {
  constructor(
    private readonly engine: DurableEngine,
    private readonly hubName: string,
    private readonly hostOrigin: () => string,
  ) {}

  /** Handles `subPath` (below the API base, leading slash removed). */
  async handle(req: IncomingMessage, res: ServerResponse, subPath: string, url: URL, body: Buffer): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const parts = subPath.split('/').filter((p) => p.length > 0).map(decode);
    const q = url.searchParams;
    const origin = req.headers.host ? `http://${req.headers.host}` : this.hostOrigin();

    if (parts[0] === 'orchestrators' && (parts.length === 2 || parts.length === 3) && method === 'POST') {
      return this.start(res, parts[1], parts[2], body, q, origin);
    }
    if (parts[0] === 'instances') {
      if (parts.length === 1) {
        if (method === 'GET') return this.list(req, res, q);
        if (method === 'DELETE') return this.purgeBy(res, q);
      }
      const id = parts[1];
      if (parts.length === 2) {
        if (method === 'GET') return this.status(res, id, q, `${origin}${url.pathname}${url.search}`);
        if (method === 'DELETE') {
          const deleted = await this.engine.purge(id);
          return deleted ? send(res, 200, { instancesDeleted: 1 }) : send(res, 404);
        }
      }
      if (method === 'POST' && parts.length === 4 && parts[2] === 'raiseEvent') {
        const current = await this.engine.getStatus(id, { showInput: false });
        if (!current) return send(res, 404);
        if (TERMINAL.has(current.runtimeStatus)) return send(res, 410);
        if (!isJsonMediaType(req)) return error(res, 400, 'Only application/json request content is supported');
        const data = jsonText(body);
        if (data === undefined) return error(res, 400, 'Invalid JSON content');
        return this.controlAnswer(res, await this.engine.raiseEvent(id, parts[3], data));
      }
      if (method === 'POST' && parts.length === 3) {
        const op = parts[2];
        if (op === 'terminate' || op === 'suspend' || op === 'resume') return this.controlAnswer(res, await this.engine.control(id, op, q.get('reason')));
        if (op === 'rewind') return error(res, 501, 'Rewind is not supported by devhost');
        if (op === 'restart') return this.restart(res, id, q, origin);
      }
    }
    if (parts[0] === 'entities') return error(res, 501, 'Durable entities are not supported by devhost');
    return error(res, 404, `No Durable Functions API route for ${method} ${url.pathname}`);
  }

  private controlAnswer(res: ServerResponse, result: ControlResult): void {
    send(res, result === 'accepted' ? 202 : result === 'gone' ? 410 : 404);
  }

  private checkStatus(res: ServerResponse, instanceId: string, origin: string): void {
    const urls = managementUrls(origin, this.hubName, instanceId);
    const { id, statusQueryGetUri, sendEventPostUri, terminatePostUri, purgeHistoryDeleteUri, restartPostUri, suspendPostUri, resumePostUri } = urls;
    send(
      res,
      202,
      { id, statusQueryGetUri, sendEventPostUri, terminatePostUri, purgeHistoryDeleteUri, restartPostUri, suspendPostUri, resumePostUri },
      { location: statusQueryGetUri, 'retry-after': '10' },
    );
  }

  private async start(res: ServerResponse, name: string, instanceId: string | undefined, body: Buffer, q: URLSearchParams, origin: string): Promise<void> {
    const input = jsonText(body);
    if (input === undefined) return error(res, 400, 'Invalid JSON content');
    const result = await this.engine.startNew(name, instanceId, input === 'null' && body.length === 0 ? null : input, {
      version: q.get('version') ?? undefined,
    });
    if (result.status !== 'created') return refused(res, result);
    return this.waitOrCheckStatus(res, result.instanceId, q, origin);
  }

  private async waitOrCheckStatus(res: ServerResponse, instanceId: string, q: URLSearchParams, origin: string): Promise<void> {
    const timeoutS = Number(q.get('timeout'));
    const intervalS = Number(q.get('pollingInterval'));
    if (q.get('timeout') && q.get('pollingInterval') && timeoutS > 0 && intervalS > 0) {
      const deadline = Date.now() + timeoutS * 1000;
      for (;;) {
        const s = await this.engine.getStatus(instanceId);
        if (s && s.runtimeStatus === 'Completed') return send(res, 200, s.output);
        if (s && !RUNNING.has(s.runtimeStatus)) return this.status(res, instanceId, q, '');
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, Math.min(intervalS * 1000, Math.max(0, deadline - Date.now()))));
      }
    }
    this.checkStatus(res, instanceId, origin);
  }

  private async status(res: ServerResponse, id: string, q: URLSearchParams, selfUrl: string): Promise<void> {
    const s = await this.engine.getStatus(id, {
      showHistory: bool(q, 'showHistory') ?? false,
      showHistoryOutput: bool(q, 'showHistoryOutput') ?? false,
      showInput: bool(q, 'showInput') ?? true,
    });
    if (!s) return send(res, 404);
    if (RUNNING.has(s.runtimeStatus)) {
      return send(res, 202, s, selfUrl ? { location: selfUrl, 'retry-after': '5' } : { 'retry-after': '5' });
    }
    const failAs500 = s.runtimeStatus === 'Failed' && bool(q, 'returnInternalServerErrorOnFailure') === true;
    return send(res, failAs500 ? 500 : 200, s);
  }

  private query(q: URLSearchParams): ListQuery {
    const top = Number.parseInt(q.get('top') ?? '', 10);
    return {
      runtimeStatus: statuses(q),
      createdTimeFrom: time(q, 'createdTimeFrom'),
      createdTimeTo: time(q, 'createdTimeTo'),
      instanceIdPrefix: q.get('instanceIdPrefix') ?? undefined,
      top: Number.isInteger(top) && top > 0 ? top : undefined,
      showInput: bool(q, 'showInput') ?? true,
    };
  }

  private async list(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const token = req.headers['x-ms-continuation-token'];
    const page = await this.engine.list({ ...this.query(q), continuationToken: typeof token === 'string' && token ? token : undefined });
    send(res, 200, page.items, page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {});
  }

  private async purgeBy(res: ServerResponse, q: URLSearchParams): Promise<void> {
    const query = this.query(q);
    if (query.createdTimeFrom === undefined) return error(res, 400, "Please provide value for 'createdTimeFrom' parameter.");
    const n = await this.engine.purgeBy({ ...query, createdTimeTo: query.createdTimeTo ?? Date.now(), top: undefined });
    return n === 0 ? send(res, 404) : send(res, 200, { instancesDeleted: n });
  }

  private async restart(res: ServerResponse, id: string, q: URLSearchParams, origin: string): Promise<void> {
    const s = await this.engine.getStatus(id);
    if (!s) return error(res, 400, 'InstanceId does not match a valid orchestration instance.');
    const newId = bool(q, 'restartWithNewInstanceId') === false ? id : undefined;
    const result = await this.engine.startNew(s.name, newId, s.input === null ? null : JSON.stringify(s.input));
    if (result.status !== 'created') return refused(res, result);
    return this.waitOrCheckStatus(res, result.instanceId, q, origin);
  }
}

export { WEBHOOK_PATH };
