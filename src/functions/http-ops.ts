/** Operator routes: inspect a connection with its orchestration, terminate, purge. */
import { app } from '@azure/functions';
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
  handler: operatorRoute(async ({ request, runtime, durable }) => {
    const connectionId = connectionIdParam(request);
    const stored = await runtime.connections.findById(connectionId);
    if (!stored) throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
    let orchestration: Record<string, unknown> | null = null;
    try {
      const status = (await durable.getStatus(connectionId, { showHistory: true, showHistoryOutput: true, showInput: true })) as unknown as Record<string, unknown>;
      orchestration = {
        runtimeStatus: status.runtimeStatus,
        customStatus: redact(status.customStatus ?? null),
        createdTime: status.createdTime,
        lastUpdatedTime: status.lastUpdatedTime,
        input: redact(status.input ?? null),
        output: redact(status.output ?? null),
        history: redact(status.history ?? status.historyEvents ?? []),
      };
    } catch {
      orchestration = null;
    }
    return json(200, { connection: { ...toConnectionView(stored.connection), clientId: stored.connection.clientId }, orchestration });
  }),
});

app.http('opsTerminate', {
  route: 'ops/connections/{id}/terminate',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async ({ request, durable }) => {
    const connectionId = connectionIdParam(request);
    try {
      await durable.terminate(connectionId, 'terminated by operator');
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
  handler: operatorRoute(async ({ request, durable }) => {
    const connectionId = connectionIdParam(request);
    const result = await durable.purgeInstanceHistory(connectionId);
    return json(200, { connectionId, instancesDeleted: result.instancesDeleted });
  }),
});
