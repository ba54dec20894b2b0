/** GET and DELETE /api/connections/{id}. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView } from '../domain/connection';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { revokeThroughOrchestration } from '../services/revoke-request';
import { forgetToken } from '../services/token';

app.http('getConnection', {
  route: 'connections/{id}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const stored = await runtime.connections.require(clientId, connectionIdParam(request));
    return json(200, toConnectionView(stored.connection));
  }),
});

app.http('deleteConnection', {
  route: 'connections/{id}',
  methods: ['DELETE'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime, durable }) => {
    const connectionId = connectionIdParam(request);
    forgetToken(clientId, connectionId);
    await revokeThroughOrchestration(runtime, durable, clientId, connectionId);
    forgetToken(clientId, connectionId);
    return { status: 204 };
  }),
});
