/**
 * The browser pages in a real Chromium (Debian's, driven by playwright-core): a newcomer connects
 * the test OIDC provider through the connect page, going through oidc-provider's own login and
 * consent pages, calls its API through the broker; then an operator finds the connection on the
 * dashboard. Screenshots land in test-artifacts/ (git-ignored) for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from './support/broker-host';
import { CLIENT_KEY, OPERATOR_KEY, startWorld, World } from './support/world';

jest.setTimeout(120_000);

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

let world: World;
let browser: Browser;
let context: BrowserContext;
/** Script errors and CSP violations the pages caused: any is a failure. */
const pageProblems: string[] = [];

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && page.url().startsWith(world.broker.url)) pageProblems.push(`console: ${message.text()}`);
  });
  return page;
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  world = await startWorld({ extraSettings: (brokerUrl) => ({ BROKER_ALLOWED_RETURN_URLS: `${brokerUrl}/api/connect` }) });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
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
  expect(pageProblems).toEqual([]);
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
  expect(pageProblems).toEqual([]);
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
