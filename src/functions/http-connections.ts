/** POST /api/connections (start) and GET /api/connections (list). */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView } from '../domain/connection';
import { clientRoute, json } from '../http/handler';
import { readJsonBody } from '../http/request';
import { parseListQuery, parseStartConnectionBody } from '../http/validate';
import { providerSunsetOf } from '../services/provider-clients';
import { startConnection } from '../services/start-connection';

app.http('startConnection', {
  route: 'connections',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    // A client over its start rate is refused before its body is read and parsed.
    runtime.limits.assertStartAvailable(clientId);
    const body = parseStartConnectionBody(await readJsonBody(request));
    const started = await startConnection(runtime, clientId, body);
    return json(201, started, { location: `/api/connections/${started.connectionId}` });
  }),
});

app.http('listConnections', {
  route: 'connections',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const query = parseListQuery(request.query);
    const page = await runtime.connections.list(clientId, query, query.top, query.continuation);
    return json(200, { items: page.items.map((c) => toConnectionView(c, providerSunsetOf(runtime, c.provider))), ...(page.continuation ? { continuation: page.continuation } : {}) });
  }),
});
