/**
 * Operator routes: inspect a connection with its orchestration and its event log, terminate, purge.
 * They take the public connection id (plus `?clientId=` when several clients hold it) and act on the
 * row's orchestration instance.
 */
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { BrokerError } from '../domain/errors';
import { json, operatorRoute, type RouteContext } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { parseOperatorClientId, parsePageQuery } from '../http/validate';
import { redact } from '../logging/redact';
import { findOperatorConnection, operatorConnectionView } from '../services/operator-lookup';

function lookUp({ request, runtime }: RouteContext) {
  return findOperatorConnection(runtime, connectionIdParam(request), parseOperatorClientId(request.query));
}

app.http('opsGetConnection', {
  route: 'ops/connections/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { runtime, invocation } = ctx;
    const stored = await lookUp(ctx);
    const { instanceId } = stored.connection;
    let orchestration: Record<string, unknown> | null = null;
    try {
      const status = (await runtime.durable.getStatus(instanceId, { showHistory: true, showHistoryOutput: true, showInput: true })) as unknown as Record<string, unknown>;
      orchestration = {
        runtimeStatus: status.runtimeStatus,
        customStatus: redact(status.customStatus ?? null),
        createdTime: status.createdTime,
        lastUpdatedTime: status.lastUpdatedTime,
        input: redact(status.input ?? null),
        output: redact(status.output ?? null),
        history: redact(status.history ?? (await historyEvents(invocation, instanceId).catch(() => []))),
      };
    } catch {
      orchestration = null;
    }
    return json(200, { connection: operatorConnectionView(runtime, stored.connection), orchestration });
  }),
});

/**
 * durable-functions' getStatus drops the `historyEvents` the status API returns (it reads `history`),
 * so the history is read from the instance's status URL itself.
 * @see https://github.com/Azure/azure-functions-durable-js/issues/620
 */
async function historyEvents(invocation: InvocationContext, instanceId: string): Promise<unknown[]> {
  const url = new URL(df.getClient(invocation).createHttpManagementPayload(instanceId).statusQueryGetUri);
  for (const name of ['showHistory', 'showHistoryOutput', 'showInput']) url.searchParams.set(name, 'true');
  const response = await fetch(url);
  const body = (await response.json()) as { historyEvents?: unknown[] };
  return body.historyEvents ?? [];
}

app.http('opsTerminate', {
  route: 'ops/connections/{id}/terminate',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { connection } = await lookUp(ctx);
    try {
      await ctx.runtime.durable.terminate(connection.instanceId, 'terminated by operator');
    } catch {
      throw new BrokerError('CONNECTION_NOT_FOUND', 'no orchestration for this connection');
    }
    return json(202, { connectionId: connection.connectionId, clientId: connection.clientId, terminated: true });
  }),
});

app.http('opsPurge', {
  route: 'ops/connections/{id}/history',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { connection } = await lookUp(ctx);
    const result = await ctx.runtime.durable.purgeInstanceHistory(connection.instanceId);
    return json(200, { connectionId: connection.connectionId, clientId: connection.clientId, instancesDeleted: result.instancesDeleted });
  }),
});

app.http('opsConnectionEvents', {
  route: 'ops/connections/{id}/events',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: operatorRoute(async (ctx) => {
    const { request, runtime } = ctx;
    const connectionId = connectionIdParam(request);
    // The log outlives the row (a purged connection keeps its trail until the retention ends): with
    // `?clientId=` it is read without the row; otherwise the row names the owner.
    const named = parseOperatorClientId(request.query);
    const clientId = named ?? (await lookUp(ctx)).connection.clientId;
    const page = await runtime.audit.list(clientId, connectionId, parsePageQuery(request.query));
    if (named && page.items.length === 0 && !request.query.has('continuation') && !(await runtime.connections.get(named, connectionId))) {
      throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
    }
    return json(200, { items: page.items, ...(page.continuation ? { continuation: page.continuation } : {}) });
  }),
});
