/**
 * The anonymous browser pages: the operator dashboard and the newcomer's connect page, each an HTML
 * shell plus its script on its own route (the CSP allows no inline script), one stylesheet, and the
 * embeddable connect script client apps load into their own pages. They
 * are plain files in ./assets, which ESLint checks as browser code and `npm run build` copies next
 * to this module. The pages hold no data; everything they show comes from the key-protected JSON routes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { assetResponse, htmlResponse, type AssetContentType } from './page-response';

export const ASSETS_DIR = path.join(__dirname, 'assets');

export interface StaticPage {
  /** The function's name, as the OpenAPI document's operationId. */
  name: string;
  route: string;
  file: string;
}

export const STATIC_PAGES: readonly StaticPage[] = [
  { name: 'dashboardPage', route: 'dashboard', file: 'dashboard.html' },
  { name: 'dashboardScript', route: 'dashboard.js', file: 'dashboard.js' },
  { name: 'dashboardChartsScript', route: 'dashboard-charts.js', file: 'dashboard-charts.js' },
  { name: 'dashboardInsightsScript', route: 'dashboard-insights.js', file: 'dashboard-insights.js' },
  { name: 'connectPage', route: 'connect', file: 'connect.html' },
  { name: 'connectScript', route: 'connect.js', file: 'connect.js' },
  { name: 'pagesStylesheet', route: 'pages.css', file: 'pages.css' },
  { name: 'connectEmbedScript', route: 'broker-connect.js', file: 'broker-connect.js' },
  { name: 'callbackResultScript', route: 'callback-result.js', file: 'callback-result.js' },
];

const ASSET_TYPES: Record<string, AssetContentType> = { '.js': 'text/javascript', '.css': 'text/css' };

export function readAsset(file: string): string {
  return readFileSync(path.join(ASSETS_DIR, file), 'utf8');
}

/** Reads the file once (a missing asset fails at startup, not on first use) and answers it on every call. */
export function staticPageAnswer(file: string): () => HttpResponseInit {
  const extension = path.extname(file);
  const contentType = ASSET_TYPES[extension];
  if (extension !== '.html' && !contentType) throw new Error(`No content type for page asset ${file}`);
  const text = readAsset(file);
  return extension === '.html' ? () => htmlResponse(200, text) : () => assetResponse(contentType, text);
}
