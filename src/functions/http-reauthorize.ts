/** POST /api/connections/{id}/reauthorize. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { reauthorize } from '../services/reauthorize';

app.http('reauthorizeConnection', {
  route: 'connections/{id}/reauthorize',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) =>
    json(200, await reauthorize(runtime, clientId, connectionIdParam(request))),
  ),
});
