/**
 * The embeddable connect flow (GET /api/broker-connect.js) in a real Chromium, on a client app of
 * another origin with a strict CSP of its own: a popup that reports `{connectionId, status}` to its
 * opener, a closed popup that resolves `cancelled`, a phone-sized screen and a blocked popup that
 * fall back to a full-page redirect, and the broker's own connect page opened in the popup.
 */
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from './support/broker-host';
import { launchChromium } from './support/chromium';
import { startClientApp, type ClientApp } from './support/client-app';
import { CLIENT_KEY, startWorld, type World } from './support/world';

jest.setTimeout(240_000);

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

let world: World;
let app: ClientApp;
let browser: Browser;

beforeAll(async () => {
  app = await startClientApp();
  world = await startWorld({ extraSettings: { BROKER_ALLOWED_RETURN_URLS: app.landingUrl } });
  app.useBroker(world.broker.url, CLIENT_KEY);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await world?.stop();
  await app?.close();
});

/** oidc-provider's devInteractions: a login form, then a consent form. */
async function consent(page: Page): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(world.oidc.url('/interaction/')));
  await page.locator('input[name="login"]').fill('carol');
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Resolves once the popup has closed, also when it closed before this was called (a fast callback). */
function closed(popup: Page): Promise<void> {
  return popup.isClosed() ? Promise.resolve() : popup.waitForEvent('close', { timeout: 60_000 }).then(() => undefined);
}

async function resultOf(page: Page, status: string): Promise<{ status: string; connectionId: string }> {
  const result = page.locator(`#result[data-status="${status}"]`);
  await result.waitFor({ timeout: 60_000 });
  return { status, connectionId: (await result.getAttribute('data-connection-id')) ?? '' };
}

/** Script errors and CSP violations while the page shows the app's or the broker's pages (not the provider's). */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  const ours = () => page.url().startsWith(app.origin) || page.url().startsWith(world.broker.url);
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && ours()) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

describe('in a desktop window', () => {
  let context: BrowserContext;
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });
  afterEach(async () => {
    await context.close();
  });

  test('the popup goes through consent, tells its opener the connection and status, and closes', async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${app.origin}/app`);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Connect', exact: true }).click()]);
    const popupProblems = watchProblems(popup);
    await consent(popup);
    await closed(popup);

    const result = await resultOf(page, 'connected');
    expect(page.url()).toBe(`${app.origin}/app`); // the app page itself never navigated
    const stored = await world.broker.request('GET', `/api/connections/${result.connectionId}`, { key: CLIENT_KEY });
    expect(stored.json).toMatchObject({ connectionId: result.connectionId, status: 'connected', provider: 'oidc' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'connect-embed-popup-result.png') });
    expect(problems).toEqual([]);
    expect(popupProblems).toEqual([]);
  });

  test('a popup the user closes resolves as cancelled instead of hanging', async () => {
    const page = await context.newPage();
    await page.goto(`${app.origin}/app`);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Connect', exact: true }).click()]);
    await popup.waitForURL((url) => url.href.startsWith(world.oidc.url('/interaction/')));
    await popup.close();
    expect(await resultOf(page, 'cancelled')).toEqual({ status: 'cancelled', connectionId: '' });
  });

  test('a message from another window or origin is ignored: only the popup’s own landing page counts', async () => {
    const page = await context.newPage();
    await page.goto(`${app.origin}/app`);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Connect', exact: true }).click()]);
    await popup.waitForURL((url) => url.href.startsWith(world.oidc.url('/interaction/')));
    // The provider's page (another origin) posts a forged outcome to the opener, and so does the app page itself.
    const forged = "{ type: 'broker-connect:result', connectionId: 'forged', status: 'connected' }";
    await popup.evaluate(`window.opener.postMessage(${forged}, '*')`);
    await page.evaluate(`window.postMessage(${forged}, '*')`);
    await consent(popup);
    const result = await resultOf(page, 'connected');
    expect(result.connectionId).not.toBe('forged');
    expect((await world.broker.request('GET', `/api/connections/${result.connectionId}`, { key: CLIENT_KEY })).status).toBe(200);
  });

  test("without returnTo the broker's callback page tells the opener, addressed to the allowed origins only", async () => {
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${app.origin}/app`);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Connect without returnTo' }).click()]);
    const popupProblems = watchProblems(popup);
    await consent(popup);
    await closed(popup);
    const result = await resultOf(page, 'connected');
    expect((await world.broker.request('GET', `/api/connections/${result.connectionId}`, { key: CLIENT_KEY })).json.status).toBe('connected');
    expect(problems).toEqual([]);
    expect(popupProblems).toEqual([]);
  });

  test("the broker's own connect page in the popup returns to the app's landing page, which tells the opener", async () => {
    const page = await context.newPage();
    await page.goto(`${app.origin}/app`);
    const [popup] = await Promise.all([context.waitForEvent('page'), page.getByRole('button', { name: 'Connect on the broker’s page' }).click()]);
    const problems = watchProblems(popup);
    await popup.getByLabel('Client API key').fill(CLIENT_KEY);
    await popup.getByRole('button', { name: 'Continue' }).click();
    await popup.getByLabel('Provider', { exact: true }).selectOption('oidc');
    await popup.getByRole('button', { name: 'Connect' }).click();
    await consent(popup);
    await closed(popup);
    const result = await resultOf(page, 'connected');
    expect((await world.broker.request('GET', `/api/connections/${result.connectionId}`, { key: CLIENT_KEY })).json.status).toBe('connected');
    expect(problems).toEqual([]);
  });
});

test('on a 390×844 phone screen the flow redirects the page itself and the landing page reads the outcome', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const problems = watchProblems(page);
  const popups: Page[] = [];
  context.on('page', (opened) => {
    if (opened !== page) popups.push(opened);
  });
  await page.goto(`${app.origin}/app`);
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await consent(page);
  await page.waitForURL((url) => url.href.startsWith(app.landingUrl));
  const result = await resultOf(page, 'connected');
  expect(new URL(page.url()).searchParams.get('connectionId')).toBe(result.connectionId);
  await page.screenshot({ path: path.join(ARTIFACTS, 'connect-embed-phone-landing.png') });
  expect(popups).toEqual([]);
  expect(problems).toEqual([]);
  await context.close();
});

test('where the browser blocks the popup, the flow falls back to a full-page redirect', async () => {
  // Playwright turns Chromium's popup blocker off by default; this browser keeps it.
  const blocking = await launchChromium({ ignoreDefaultArgs: ['--disable-popup-blocking'] });
  try {
    const context = await blocking.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const popups: Page[] = [];
    context.on('page', (opened) => {
      if (opened !== page) popups.push(opened);
    });
    // `?auto=1` opens without a click, which the blocker refuses.
    await page.goto(`${app.origin}/app?auto=1`);
    await consent(page);
    await page.waitForURL((url) => url.href.startsWith(app.landingUrl));
    const result = await resultOf(page, 'connected');
    expect((await world.broker.request('GET', `/api/connections/${result.connectionId}`, { key: CLIENT_KEY })).json.status).toBe('connected');
    expect(popups).toEqual([]);
  } finally {
    await blocking.close();
  }
});
