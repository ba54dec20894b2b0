/** GET /api/callback/{provider}: where providers send the end user's browser back. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { isBrokerError } from '../domain/errors';
import { errorResponse } from '../http/errors';
import { anonymousRoute } from '../http/handler';
import { redactText } from '../logging/redact';
import { htmlPage } from '../pages/html-page';
import { handleCallback } from '../services/callback';

const TITLES: Record<string, string> = {
  connected: 'Connected',
  denied: 'Authorization denied',
  failed: 'Connection failed',
  expired: 'Authorization expired',
};

app.http('oauthCallback', {
  route: 'callback/{provider}',
  methods: ['GET'],
  authLevel: 'anonymous',
  extraInputs: [df.input.durableClient()],
  handler: anonymousRoute(async ({ request, runtime, invocation }) => {
    try {
      const answer = await handleCallback(runtime, request.params.provider ?? '', request.query);
      if (answer.kind === 'redirect') {
        return { status: 302, headers: { location: answer.location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } };
      }
      const { status } = answer;
      const title = TITLES[status] ?? 'Authorization received';
      // In a popup opened by broker-connect.js, callback-result.js tells the opener, but only a
      // window of the broker's own origin or of an allowed returnTo origin.
      const notifyOrigins = [...new Set([runtime.settings.baseUrl, ...runtime.settings.allowedReturnUrls.map((u) => u.href)].map((u) => new URL(u).origin))];
      return htmlPage(200, title, [
        status === 'connected' ? 'You can close this window and return to the application.' : `The connection is ${status}.`,
      ], { 'connection-id': answer.connectionId, status, 'notify-origins': notifyOrigins.join(' ') }, 'callback-result.js');
    } catch (error) {
      // Browser-facing: the same stable code as the JSON API, on a readable page.
      const { status = 500 } = errorResponse(error);
      const code = isBrokerError(error) ? error.code : 'INTERNAL';
      const message = isBrokerError(error) ? error.message : 'internal error';
      invocation.warn(JSON.stringify({ level: 'warn', route: 'callback', code, status, invocationId: invocation.invocationId, provider: redactText((request.params.provider ?? '').slice(0, 64)) }));
      return htmlPage(status, 'This authorization link cannot be used', [message, `Error code: ${code}`], { 'error-code': code });
    }
  }),
});
