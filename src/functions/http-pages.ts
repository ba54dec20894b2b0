/**
 * Anonymous browser pages: the operator dashboard and the newcomer's connect page, each an HTML
 * shell plus its script on its own route (the CSP allows no inline script), and one stylesheet.
 * The pages hold no data; everything they show comes from the key-protected JSON routes.
 */
import { app, type HttpResponseInit } from '@azure/functions';
import { CONNECT_HTML, CONNECT_JS } from '../pages/connect';
import { DASHBOARD_HTML, DASHBOARD_JS } from '../pages/dashboard';
import { assetResponse, htmlResponse } from '../pages/page-response';
import { PAGES_CSS } from '../pages/styles';

function page(name: string, route: string, answer: () => HttpResponseInit): void {
  app.http(name, { route, methods: ['GET'], authLevel: 'anonymous', handler: async () => answer() });
}

page('dashboardPage', 'dashboard', () => htmlResponse(DASHBOARD_HTML));
page('dashboardScript', 'dashboard.js', () => assetResponse('text/javascript', DASHBOARD_JS));
page('connectPage', 'connect', () => htmlResponse(CONNECT_HTML));
page('connectScript', 'connect.js', () => assetResponse('text/javascript', CONNECT_JS));
page('pagesStylesheet', 'pages.css', () => assetResponse('text/css', PAGES_CSS));
