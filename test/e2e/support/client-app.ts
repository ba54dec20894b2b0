/**
 * A client app's own web site on another origin than the broker (http://localhost:<port> against
 * the broker's http://127.0.0.1:<port>), under a strict CSP of its own, embedding the broker's
 * connect script: `/app` has the buttons, `/start` is the app's backend starting a connection
 * (client key server-side, returnTo = `/landing` unless `?returnTo=none`) and redirecting to the authorization URL,
 * `/landing` is the returnTo page that calls BrokerConnect.complete().
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ClientApp {
  origin: string;
  landingUrl: string;
  /** Connects the app to the broker once its URL is known (the broker's settings need the app's origin first). */
  useBroker(brokerUrl: string, clientKey: string): void;
  close(): Promise<void>;
}

function page(brokerUrl: string, title: string, script: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<link rel="icon" href="data:,">
<script src="${brokerUrl}/api/broker-connect.js" defer></script><script src="/${script}" defer></script></head>
<body><h1>${title}</h1>${body}<output id="result"></output></body></html>`;
}

const SHOW = `function show(r) { var out = document.getElementById('result'); out.textContent = JSON.stringify(r);
  out.setAttribute('data-status', r.status); out.setAttribute('data-connection-id', r.connectionId || ''); }`;

function appScript(brokerUrl: string): string {
  return `'use strict';
${SHOW}
function connect() { show({ status: 'opening' }); return BrokerConnect.open('/start?provider=oidc').then(show); }
document.getElementById('connect').addEventListener('click', connect);
// A link started without returnTo ends on the broker's callback page, which reports from the broker's origin.
document.getElementById('connect-no-return').addEventListener('click', function () {
  BrokerConnect.open('/start?provider=oidc&returnTo=none', { resultOrigin: [location.origin, ${JSON.stringify(brokerUrl)}] }).then(show);
});
document.getElementById('connect-page').addEventListener('click', function () {
  BrokerConnect.open(${JSON.stringify(brokerUrl)} + '/api/connect?returnTo=' + encodeURIComponent(location.origin + '/landing')).then(show);
});
// Without a click (no user activation) a browser that blocks popups blocks this one.
if (new URLSearchParams(location.search).get('auto') === '1') setTimeout(connect, 0);
`;
}

export async function startClientApp(): Promise<ClientApp> {
  let brokerUrl = '';
  let clientKey = '';
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const csp = `default-src 'none'; script-src 'self' ${brokerUrl}; img-src data:; form-action 'none'; base-uri 'none'`;
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'content-security-policy': csp, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (url.pathname === '/app') {
      send(200, 'text/html', page(brokerUrl, 'Client app', 'app.js', '<button id="connect">Connect</button> <button id="connect-no-return">Connect without returnTo</button> <button id="connect-page">Connect on the broker’s page</button>'));
    } else if (url.pathname === '/app.js') {
      send(200, 'text/javascript', appScript(brokerUrl));
    } else if (url.pathname === '/landing') {
      send(200, 'text/html', page(brokerUrl, 'Connected?', 'landing.js', ''));
    } else if (url.pathname === '/landing.js') {
      send(200, 'text/javascript', `'use strict';\n${SHOW}\nvar outcome = BrokerConnect.complete(); if (outcome) show(outcome);\n`);
    } else if (url.pathname === '/start') {
      fetch(`${brokerUrl}/api/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ provider: url.searchParams.get('provider'), ...(url.searchParams.get('returnTo') === 'none' ? {} : { returnTo: app.landingUrl }) }),
      })
        .then(async (answer) => {
          const started = (await answer.json()) as { authorizationUrl?: string };
          if (!started.authorizationUrl) return send(502, 'text/plain', JSON.stringify(started));
          response.writeHead(302, { location: started.authorizationUrl, 'cache-control': 'no-store' });
          response.end();
        })
        .catch((error: unknown) => send(502, 'text/plain', String(error)));
    } else {
      send(404, 'text/plain', 'not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  const app: ClientApp = {
    origin,
    landingUrl: `${origin}/landing`,
    useBroker(url, key) {
      brokerUrl = url;
      clientKey = key;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return app;
}
