/** POST /api/connections/{id}/complete: the client's backend confirms a session-bound connection. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam, readJsonBody } from '../http/request';
import { parseCompleteBody } from '../http/validate';
import { completeConnection } from '../services/complete-connection';

app.http('completeConnection', {
  route: 'connections/{id}/complete',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const body = parseCompleteBody(await readJsonBody(request));
    return json(200, await completeConnection(runtime, clientId, connectionIdParam(request), body));
  }),
});
