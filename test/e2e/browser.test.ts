/**
 * The browser pages in a real Chromium (Debian's, driven by playwright-core): a newcomer connects
 * the test OIDC provider through the connect page, going through oidc-provider's own login and
 * consent pages, calls its API through the broker; then an operator finds the connection on the
 * dashboard. Screenshots land in test-artifacts/ (git-ignored) for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium';
import { eventually, REPO_ROOT } from './support/broker-host';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';
import { CLIENT_KEY, connect, OPERATOR_KEY, OTHER_CLIENT_KEY, startWorld, World } from './support/world';

jest.setTimeout(120_000);

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

let world: World;
let browser: Browser;
let context: BrowserContext;
/** Script errors, CSP violations and failed loads a page caused: in a happy path any is a failure. */
const pageProblems = new WeakMap<Page, string[]>();

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  const problems: string[] = [];
  pageProblems.set(page, problems);
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && page.url().startsWith(world.broker.url)) problems.push(`console: ${message.text()}`);
  });
  return page;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  world = await startWorld({ extraSettings: (brokerUrl) => ({ BROKER_ALLOWED_RETURN_URLS: `${brokerUrl}/api/connect` }) });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

let connectionId: string;

test('a newcomer connects the OIDC provider from the connect page and calls its API through the broker', async () => {
  const page = await openPage();
  const pageAnswer = await page.goto(`${world.broker.url}/api/connect`);
  expect(pageAnswer?.headers()['content-security-policy']).toContain("script-src 'self'");
  await expect(page.locator('#client-key').inputValue()).resolves.toBe('demo-client-key-change-me');

  await page.getByLabel('Client API key').fill(CLIENT_KEY);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Provider', { exact: true }).selectOption('oidc');
  await page.getByLabel('End user id (optional)').fill('alice@example.test');
  await page.screenshot({ path: path.join(ARTIFACTS, 'connect-page.png'), fullPage: true });
  await page.getByRole('button', { name: 'Connect' }).click();

  // oidc-provider's devInteractions: a login form, then a consent form.
  await page.waitForURL((url) => url.href.startsWith(world.oidc.url('/interaction/')));
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'provider-consent.png'), fullPage: true });
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.waitForURL((url) => url.href.startsWith(`${world.broker.url}/api/connect?`));
  const back = new URL(page.url());
  connectionId = back.searchParams.get('connectionId') ?? '';
  expect(back.searchParams.get('status')).toBe('connected');
  // The provider line is filled in only from GET /api/connections/{id}, so this waits for the poll.
  await expect(page.locator('#connection-provider').textContent({ timeout: 20_000 })).resolves.toBeTruthy();
  await page.locator('#connection-provider:has-text("oidc")').waitFor();
  await expect(page.locator('#connection-status').getAttribute('data-status')).resolves.toBe('connected');

  await page.getByRole('button', { name: 'Call the API (GET /me)' }).click();
  await page.locator('#api-result[data-outcome]').waitFor();
  expect(await page.locator('#api-result').getAttribute('data-outcome')).toBe('ok');
  const me = JSON.parse((await page.locator('#api-result').textContent()) ?? '{}');
  expect(me).toMatchObject({ sub: 'alice', clientId: 'broker', method: 'GET' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'connect-page-connected.png'), fullPage: true });

  const stored = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(stored.json).toMatchObject({ status: 'connected', endUserId: 'alice@example.test' });
  expect(pageProblems.get(page)).toEqual([]);
});

test('an operator signs in to the dashboard, sees the connection connected and opens its orchestration timeline', async () => {
  expect(connectionId).toBeTruthy();
  const page = await openPage();
  await page.goto(`${world.broker.url}/api/dashboard`);
  await page.getByLabel('Operator key').fill(OPERATOR_KEY);
  await page.getByRole('button', { name: 'Open dashboard' }).click();

  const row = page.locator(`tr[data-connection-id="${connectionId}"]`);
  await row.waitFor();
  expect(await row.locator('[data-status]').getAttribute('data-status')).toBe('connected');
  expect(await row.textContent()).toContain('alice@example.test');

  await page.getByLabel('Status', { exact: true }).selectOption('reauth_required');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.getByText('No connections match.').waitFor();
  await page.getByLabel('Status', { exact: true }).selectOption('connected');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await row.waitFor();

  await row.getByRole('button', { name: `Open connection ${connectionId}` }).click();
  await page.locator('#timeline li').first().waitFor();
  const timeline = await page.locator('#timeline').textContent();
  expect(timeline).toContain('ExecutionStarted');
  expect(await page.locator('#orchestration-facts').textContent()).toMatch(/Running|ContinuedAsNew|Pending/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

  // The key stays in the tab: a reload shows the table without asking again.
  await page.reload();
  await row.waitFor();
  expect(await page.locator('#login').isHidden()).toBe(true);
  expect(pageProblems.get(page)).toEqual([]);
});

test('the dashboard refuses a wrong operator key and keeps asking for one', async () => {
  const page = await openPage();
  await page.goto(`${world.broker.url}/api/dashboard`);
  await page.getByLabel('Operator key').fill('not-the-operator-key');
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.locator('#message.error').waitFor();
  expect(await page.locator('#message').textContent()).toContain('UNAUTHORIZED');
  expect(await page.locator('#connections').isHidden()).toBe(true);
});

test('from the dashboard an operator forces a refresh, then revokes the connection', async () => {
  expect(connectionId).toBeTruthy();
  const page = await openPage();
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(`${world.broker.url}/api/dashboard`);
  await page.getByLabel('Operator key').fill(OPERATOR_KEY);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.getByRole('button', { name: `Open connection ${connectionId}` }).click();

  const refreshesBefore = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token').length;
  await page.getByRole('button', { name: 'Force refresh' }).click();
  await page.getByText(`Refresh ${connectionId}: done.`).waitFor({ timeout: 30_000 });
  const refreshesAfter = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token').length;
  expect(refreshesAfter).toBe(refreshesBefore + 1);

  await page.getByRole('button', { name: 'Revoke' }).click();
  await page.getByText(`Revoke ${connectionId}: done.`).waitFor({ timeout: 30_000 });
  await page.locator(`tr[data-connection-id="${connectionId}"] [data-status="revoked"]`).waitFor();
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(410);
  expect(pageProblems.get(page)).toEqual([]);
});

test('the operator list spans clients and filters by client; a client key gets 403 and no key 401', async () => {
  const bobsConnection = await connect(world, 'oidc', { endUserId: 'bob' });
  // Another client's connection, left awaiting its callback.
  const started = await world.broker.request('POST', '/api/connections', { key: OTHER_CLIENT_KEY, body: { provider: 'oidcpost' } });
  expect(started.status).toBe(201);
  const app2Connection: string = started.json.connectionId;
  const all = await world.broker.request('GET', '/api/ops/connections', { key: OPERATOR_KEY });
  expect(all.status).toBe(200);
  const ids = all.json.items.map((c: { connectionId: string }) => c.connectionId);
  expect(ids).toEqual(expect.arrayContaining([bobsConnection, app2Connection, connectionId]));

  const app2 = await world.broker.request('GET', '/api/ops/connections?clientId=app2&status=awaiting_callback', { key: OPERATOR_KEY });
  expect(app2.json.items).toEqual([expect.objectContaining({ connectionId: app2Connection, clientId: 'app2', provider: 'oidcpost' })]);

  const byUser = await world.broker.request('GET', '/api/ops/connections?endUserId=bob', { key: OPERATOR_KEY });
  expect(byUser.json.items.map((c: { connectionId: string }) => c.connectionId)).toEqual([bobsConnection]);

  expect((await world.broker.request('GET', '/api/ops/connections?colour=blue', { key: OPERATOR_KEY })).json.error.code).toBe('INVALID_REQUEST');
  expect((await world.broker.request('GET', '/api/ops/connections', { key: CLIENT_KEY })).status).toBe(403);
  expect((await world.broker.request('GET', '/api/ops/connections')).status).toBe(401);
  expect((await world.broker.request('DELETE', `/api/ops/connections/${bobsConnection}`, { key: CLIENT_KEY })).status).toBe(403);
  expect((await world.broker.request('POST', '/api/ops/connections/unknown-id/refresh', { key: OPERATOR_KEY })).status).toBe(404);
  // The failure is logged as one JSON line naming the route, the invocation and the connection.
  const logged = await eventually(async () =>
    world.broker
      .logs()
      .split('\n')
      .map((line) => /\{"level".*\}/.exec(line)?.[0])
      .filter((json): json is string => json !== undefined)
      .map((json) => JSON.parse(json))
      .find((entry) => entry.code === 'CONNECTION_NOT_FOUND' && entry.connectionId === 'unknown-id'),
  );
  expect(logged).toMatchObject({ level: 'warn', status: 404, route: 'opsRefreshConnection', invocationId: expect.any(String) });
});

test('an unusable callback link shows its error page, styled by the shared stylesheet under the same strict CSP', async () => {
  const page = await openPage();
  const answer = await page.goto(`${world.broker.url}/api/callback/oidc?state=no-such-state&code=whatever`);
  expect(answer?.status()).toBe(400);
  expect(answer?.headers()['content-security-policy']).toContain("style-src 'self'");
  const result = page.locator('main#result');
  expect(await result.getAttribute('data-error-code')).toBeTruthy();
  // 40rem from pages.css: the stylesheet loaded through the relative link and the CSP let it apply.
  expect(await result.evaluate((main) => main.ownerDocument.defaultView?.getComputedStyle(main).maxWidth)).toBe('640px');
  // The page's own 400 is the only failed load: no CSP violation, no missing stylesheet.
  expect(pageProblems.get(page)).toEqual(['console: Failed to load resource: the server responded with a status of 400 (Bad Request)']);
});

test('the OpenAPI document is served anonymously as JSON, the same as the one the tests validate', async () => {
  const answer = await world.broker.request('GET', '/api/openapi.json');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.json).toEqual(OPENAPI_DOCUMENT);
});
