/** GET /api/connections/{id}/token and POST /api/connections/{id}/refresh. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { toConnectionView } from '../domain/connection';
import { clientRoute, json } from '../http/handler';
import { connectionIdParam } from '../http/request';
import { parseRequiredScopes } from '../http/validate';
import { providerSunsetOf } from '../services/provider-clients';
import { forceRefresh, getToken } from '../services/token';

app.http('getToken', {
  route: 'connections/{id}/token',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) =>
    json(200, await getToken(runtime, clientId, connectionIdParam(request), parseRequiredScopes(request.query))),
  ),
});

app.http('refreshConnection', {
  route: 'connections/{id}/refresh',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: clientRoute(async ({ request, clientId, runtime }) => {
    const refreshed = await forceRefresh(runtime, clientId, connectionIdParam(request));
    return json(200, toConnectionView(refreshed, providerSunsetOf(runtime, refreshed.provider)));
  }),
});
