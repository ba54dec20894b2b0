/**
 * POST /api/connect-links (client): a single-use connect URL for one end user. GET /api/link/{token}
 * (anonymous): the page offering the link's provider(s); reading it changes nothing, so a chat app's
 * link preview cannot use it up. POST /api/link/{token} (the page's form): uses the link and sends
 * the browser on to the provider.
 */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { isBrokerError } from '../domain/errors';
import { errorResponse } from '../http/errors';
import { anonymousRoute, clientRoute, json } from '../http/handler';
import { readJsonBody } from '../http/request';
import { parseConnectLinkBody } from '../http/validate';
import { connectLinkPage, continueToProviderPage } from '../pages/connect-link-page';
import { htmlPage } from '../pages/html-page';
import { createConnectLink, readConnectLink, useConnectLink } from '../services/connect-links';

app.http('createConnectLink', {
  route: 'connect-links',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: clientRoute(async ({ request, clientId, runtime }) =>
    json(201, await createConnectLink(runtime, clientId, parseConnectLinkBody(await readJsonBody(request)))),
  ),
});

app.http('connectLinkPage', {
  route: 'link/{token}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: anonymousRoute(async ({ request, runtime }) =>
    browserPage(async () => connectLinkPage(request.params.token ?? '', await readConnectLink(runtime, request.params.token ?? ''))),
  ),
});

app.http('useConnectLink', {
  route: 'link/{token}',
  methods: ['POST'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: anonymousRoute(async ({ request, runtime }) =>
    browserPage(async () => {
      const form = new URLSearchParams(await request.text());
      const started = await useConnectLink(runtime, request.params.token ?? '', form.get('provider') ?? '');
      return continueToProviderPage(started.authorizationUrl);
    }),
  ),
});

/** Browser-facing: errors as a readable page with the JSON API's stable code. */
async function browserPage(body: () => Promise<ReturnType<typeof htmlPage>>) {
  try {
    return await body();
  } catch (error) {
    const { status = 500 } = errorResponse(error);
    const code = isBrokerError(error) ? error.code : 'INTERNAL';
    const message = isBrokerError(error) ? error.message : 'internal error';
    return htmlPage(status, 'This connect link cannot be used', [message, `Error code: ${code}`], { 'error-code': code });
  }
}
