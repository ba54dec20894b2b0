/** GET and DELETE /api/connections/{id}. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView } from '../domain/connection';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { providerSunsetOf } from '../services/provider-clients';
import { revokeThroughOrchestration } from '../services/revoke-request';

app.http('getConnection', {
  route: 'connections/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const stored = await runtime.connections.require(clientId, connectionIdParam(request));
    return json(200, toConnectionView(stored.connection, providerSunsetOf(runtime, stored.connection.provider)));
  }),
});

app.http('deleteConnection', {
  route: 'connections/{id}',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    await revokeThroughOrchestration(runtime, clientId, connectionIdParam(request));
    return { status: 204 };
  }),
});
