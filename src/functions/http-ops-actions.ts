/** Operator routes behind the dashboard: list across clients, force a refresh, revoke. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import type { Connection } from '../domain/connection';
import { json, operatorRoute, type RouteContext } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { parseListQuery, parseOperatorClientId } from '../http/validate';
import { findOperatorConnection, operatorConnectionView } from '../services/operator-lookup';
import { revokeThroughOrchestration } from '../services/revoke-request';
import { forceRefresh } from '../services/token';

/** The client list's query parameters plus `clientId`, which only operators may filter on. */
function parseOperatorListQuery(query: URLSearchParams) {
  const clientId = parseOperatorClientId(query);
  const rest = new URLSearchParams(query);
  rest.delete('clientId');
  return { ...parseListQuery(rest), clientId };
}

async function requireConnection({ request, runtime }: RouteContext): Promise<Connection> {
  return (await findOperatorConnection(runtime, connectionIdParam(request), parseOperatorClientId(request.query))).connection;
}

app.http('opsListConnections', {
  route: 'ops/connections',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: operatorRoute(async ({ request, runtime }) => {
    const query = parseOperatorListQuery(request.query);
    const page = await runtime.connections.listAll(query, query.top, query.continuation);
    return json(200, { items: page.items.map((c) => operatorConnectionView(runtime, c)), ...(page.continuation ? { continuation: page.continuation } : {}) });
  }),
});

app.http('opsRefreshConnection', {
  route: 'ops/connections/{id}/refresh',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { clientId, connectionId } = await requireConnection(ctx);
    return json(200, operatorConnectionView(ctx.runtime, await forceRefresh(ctx.runtime, clientId, connectionId)));
  }),
});

app.http('opsRevokeConnection', {
  route: 'ops/connections/{id}',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { clientId, connectionId } = await requireConnection(ctx);
    await revokeThroughOrchestration(ctx.runtime, clientId, connectionId);
    return { status: 204 };
  }),
});
