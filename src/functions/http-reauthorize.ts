/** POST /api/connections/{id}/reauthorize (optional body: more `scopes`, a new `bindingChallenge`). */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam, readOptionalJsonBody } from '../http/request';
import { parseReauthorizeBody } from '../http/validate';
import { reauthorize } from '../services/reauthorize';

app.http('reauthorizeConnection', {
  route: 'connections/{id}/reauthorize',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) =>
    json(200, await reauthorize(runtime, clientId, connectionIdParam(request), parseReauthorizeBody(await readOptionalJsonBody(request)))),
  ),
});
