/** POST /api/connections/{id}/reauthorize. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { reauthorize } from '../services/reauthorize';
import { forgetToken } from '../services/token';

app.http('reauthorizeConnection', {
  route: 'connections/{id}/reauthorize',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime, durable }) => {
    const connectionId = connectionIdParam(request);
    const started = await reauthorize(runtime, durable, clientId, connectionId);
    // Awaiting consent again: the old token is not handed out, not even from this process's cache.
    forgetToken(clientId, connectionId);
    return json(200, started);
  }),
});
