/** Operator routes behind the dashboard: list across clients, force a refresh, revoke. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { json, operatorRoute, type RouteContext } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { parseListQuery } from '../http/validate';
import { revokeThroughOrchestration } from '../services/revoke-request';
import { forceRefresh } from '../services/token';

const MAX_CLIENT_ID_LENGTH = 128;

function operatorView(connection: Connection) {
  return { ...toConnectionView(connection), clientId: connection.clientId };
}

/** The client list's query parameters plus `clientId`, which only operators may filter on. */
function parseOperatorListQuery(query: URLSearchParams) {
  const rest = new URLSearchParams(query);
  const clientIds = rest.getAll('clientId');
  rest.delete('clientId');
  if (clientIds.length > 1 || (clientIds.length === 1 && (clientIds[0] === '' || clientIds[0].length > MAX_CLIENT_ID_LENGTH))) {
    throw new BrokerError('INVALID_REQUEST', '"clientId" must be given at most once and be 1–128 characters', { details: { field: 'clientId' } });
  }
  return { ...parseListQuery(rest), clientId: clientIds[0] };
}

async function requireConnection({ request, runtime }: RouteContext): Promise<Connection> {
  const stored = await runtime.connections.findById(connectionIdParam(request));
  if (!stored) throw new BrokerError('CONNECTION_NOT_FOUND', 'connection not found');
  return stored.connection;
}

app.http('opsListConnections', {
  route: 'ops/connections',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: operatorRoute(async ({ request, runtime }) => {
    const query = parseOperatorListQuery(request.query);
    const page = await runtime.connections.listAll(query, query.top, query.continuation);
    return json(200, { items: page.items.map(operatorView), ...(page.continuation ? { continuation: page.continuation } : {}) });
  }),
});

app.http('opsRefreshConnection', {
  route: 'ops/connections/{id}/refresh',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: operatorRoute(async (ctx) => {
    const { clientId, connectionId } = await requireConnection(ctx);
    return json(200, operatorView(await forceRefresh(ctx.runtime, clientId, connectionId)));
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
