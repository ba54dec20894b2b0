/**
 * The broker's browser pages: every HTML page (the static pages and the callback result page) carries
 * the same security headers, assets carry their content types and a short public cache, the markup
 * needs nothing the CSP forbids, and every asset a page references is served.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { CONNECTION_STATUSES } from '../../../src/domain/connection';
import { OPENAPI_DOCUMENT } from '../../../src/openapi/document';
import { PAGE_CSP } from '../../../src/pages/page-response';
import { htmlPage } from '../../../src/pages/html-page';
import { readAsset, STATIC_PAGES, staticPageAnswer } from '../../../src/pages/static-pages';

const EXPECTED_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const htmlPages: Array<[string, HttpResponseInit]> = [
  ...STATIC_PAGES.filter((p) => p.file.endsWith('.html')).map((p): [string, HttpResponseInit] => [`/api/${p.route}`, staticPageAnswer(p.file)()]),
  ['the callback result page', htmlPage(200, 'Connected', ['You can close this window.'], { 'connection-id': 'c-1', status: 'connected' })],
  ['the callback error page', htmlPage(400, 'This authorization link cannot be used', ['expired', 'Error code: AUTH_STATE_EXPIRED'], { 'error-code': 'AUTH_STATE_EXPIRED' })],
];

/** Where each page lives, so its relative references can be resolved (the callback page is one folder down). */
const pageUrl = (name: string) => new URL(name.startsWith('/api/') ? name : '/api/callback/oidc', 'https://broker.example');

describe('every HTML page', () => {
  test.each(htmlPages)('%s carries the one set of security headers', (_name, answer) => {
    expect(answer.headers).toEqual(EXPECTED_PAGE_HEADERS);
  });

  test('the CSP allows no inline code, no other origin and no framing', () => {
    const directives = Object.fromEntries(PAGE_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives).toMatchObject({
      'default-src': ["'none'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'connect-src': ["'self'"],
      'form-action': ["'self'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'none'"],
    });
    expect(PAGE_CSP).not.toMatch(/unsafe-|\*|https?:/);
  });

  test.each(htmlPages)('%s has no inline script or style, and every asset it references is served', (name, answer) => {
    const html = String(answer.body);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const references = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((ref) => !ref.startsWith('data:'));
    expect(references.length).toBeGreaterThan(0);
    const served = STATIC_PAGES.map((p) => `/api/${p.route}`);
    for (const reference of references) expect(served).toContain(new URL(reference, pageUrl(name)).pathname);
  });
});

describe('page assets', () => {
  test.each([
    ['dashboard.js', 'text/javascript; charset=utf-8'],
    ['connect.js', 'text/javascript; charset=utf-8'],
    ['pages.css', 'text/css; charset=utf-8'],
  ])('%s is served as %s with a short public cache', (file, contentType) => {
    const answer = staticPageAnswer(file)();
    expect(answer.status).toBe(200);
    expect(answer.headers).toEqual({
      'content-type': contentType,
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    expect(answer.body).toBe(readFileSync(path.join(__dirname, '../../../src/pages/assets', file), 'utf8'));
  });

  test('every file in the assets folder has a route, and every route is in the OpenAPI document under its function name', () => {
    const files = STATIC_PAGES.map((p) => p.file).sort();
    expect(files).toEqual(readdirSync(path.join(__dirname, '../../../src/pages/assets')).sort());
    for (const page of STATIC_PAGES) {
      expect((OPENAPI_DOCUMENT.paths as Record<string, { get: { operationId: string } }>)[`/${page.route}`].get.operationId).toBe(page.name);
    }
  });

  test('an asset of an unknown kind, or a missing one, is refused when the routes are built, not when first served', () => {
    expect(() => staticPageAnswer('pages.png')).toThrow('No content type for page asset pages.png');
    expect(() => staticPageAnswer('missing.js')).toThrow(/ENOENT/);
  });
});

describe('the static pages stay in step with the code', () => {
  test("the dashboard's status filter offers exactly the connection statuses", () => {
    const select = /<select id="filter-status"[^>]*>(.*?)<\/select>/s.exec(readAsset('dashboard.html'))?.[1] ?? '';
    const values = [...select.matchAll(/<option value="([^"]*)">([^<]*)<\/option>/g)].map((m) => [m[1], m[2]]);
    expect(values).toEqual([['', 'any'], ...CONNECTION_STATUSES.map((s) => [s, s])]);
  });

  test('the connect page offers the client key of the sample settings', () => {
    const sample = JSON.parse(readFileSync(path.join(__dirname, '../../../local.settings.sample.json'), 'utf8'));
    const sampleKey = String(sample.Values.BROKER_CLIENT_KEYS).split(':')[1];
    const html = readAsset('connect.html');
    expect(html).toContain(`id="client-key" name="clientKey" type="password" autocomplete="off" required value="${sampleKey}"`);
    expect(html).toContain(`the demo key <code>${sampleKey}</code>`);
  });
});

describe('the callback result page', () => {
  test('escapes what it shows', () => {
    const answer = htmlPage(400, '<b>title</b>', ['"quoted" & <i>'], { 'error-code': '"><script>' });
    expect(answer.status).toBe(400);
    const html = String(answer.body);
    expect(html).toContain('<title>&lt;b&gt;title&lt;/b&gt;</title>');
    expect(html).toContain('<p>&quot;quoted&quot; &amp; &lt;i&gt;</p>');
    expect(html).toContain('data-error-code="&quot;&gt;&lt;script&gt;"');
    expect(html).not.toContain('<script>');
  });
});
