/**
 * The pages of a connect link. No script: a form per provider posts back to the link, and the answer
 * moves on to the provider with a meta refresh (a redirect after a form post would be checked against
 * the pages' `form-action 'self'`, which the provider's origin is not).
 */
import type { HttpResponseInit } from '@azure/functions';
import type { ConnectLinkChoice } from '../services/connect-links';
import { escapeHtml } from './html-page';
import { htmlResponse } from './page-response';

function shell(title: string, body: string, head = ''): HttpResponseInit {
  return htmlResponse(200, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>${head}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../pages.css">
</head><body><main id="result"><h1>${escapeHtml(title)}</h1>
${body}
</main></body></html>`);
}

export function connectLinkPage(token: string, choice: ConnectLinkChoice): HttpResponseInit {
  const action = `./${encodeURIComponent(token)}`;
  const buttons = choice.providers
    .map((p) => `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="provider" value="${escapeHtml(p.name)}"><button type="submit" data-provider="${escapeHtml(p.name)}">Connect ${escapeHtml(p.displayName)}</button></form>`)
    .join('\n');
  return shell(choice.providers.length === 1 ? `Connect ${choice.providers[0].displayName}` : 'Choose an account to connect', `<p>You will be asked to sign in and approve access.</p>\n${buttons}`);
}

export function continueToProviderPage(authorizationUrl: string): HttpResponseInit {
  const url = escapeHtml(authorizationUrl);
  return shell('Continue to sign in', `<p><a id="continue" href="${url}">Continue</a></p>`, `\n<meta http-equiv="refresh" content="0;url=${url}">`);
}
