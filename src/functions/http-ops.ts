/** Operator routes: inspect a connection with its orchestration, terminate, purge. */
import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { json, operatorRoute } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { redact } from '../logging/redact';

app.http('opsGetConnection', {
  route: 'ops/connections/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async ({ request, runtime, invocation }) => {
    const connectionId = connectionIdParam(request);
    const stored = await runtime.connections.findById(connectionId);
    if (!stored) throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
    let orchestration: Record<string, unknown> | null = null;
    try {
      const status = (await runtime.durable.getStatus(connectionId, { showHistory: true, showHistoryOutput: true, showInput: true })) as unknown as Record<string, unknown>;
      orchestration = {
        runtimeStatus: status.runtimeStatus,
        customStatus: redact(status.customStatus ?? null),
        createdTime: status.createdTime,
        lastUpdatedTime: status.lastUpdatedTime,
        input: redact(status.input ?? null),
        output: redact(status.output ?? null),
        history: redact(status.history ?? (await historyEvents(invocation, connectionId).catch(() => []))),
      };
    } catch {
      orchestration = null;
    }
    return json(200, { connection: { ...toConnectionView(stored.connection), clientId: stored.connection.clientId }, orchestration });
  }),
});

/**
 * durable-functions' getStatus drops the `historyEvents` the status API returns (it reads `history`),
 * so the history is read from the instance's status URL itself.
 * @see https://github.com/Azure/azure-functions-durable-js/issues/620
 */
async function historyEvents(invocation: InvocationContext, connectionId: string): Promise<unknown[]> {
  const url = new URL(df.getClient(invocation).createHttpManagementPayload(connectionId).statusQueryGetUri);
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
  handler: operatorRoute(async ({ request, runtime }) => {
    const connectionId = connectionIdParam(request);
    try {
      await runtime.durable.terminate(connectionId, 'terminated by operator');
    } catch {
      throw new BrokerError('CONNECTION_NOT_FOUND', 'no orchestration with this id');
    }
    return json(202, { connectionId, terminated: true });
  }),
});

app.http('opsPurge', {
  route: 'ops/connections/{id}/history',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async ({ request, runtime }) => {
    const connectionId = connectionIdParam(request);
    const result = await runtime.durable.purgeInstanceHistory(connectionId);
    return json(200, { connectionId, instancesDeleted: result.instancesDeleted });
  }),
});
