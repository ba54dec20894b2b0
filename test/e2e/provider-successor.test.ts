/**
 * Provider sunsets: a connection to a deprecated provider is flagged to clients, to operators and
 * on the dashboard (in a real Chromium), and is moved onto its `successor` by
 * POST /connections/{id}/reauthorize {provider}: consent at the successor, the same connection id
 * now on the successor, and the old provider's grant revoked only after the new credentials are stored.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { completeConsent } from '../support/oidc/complete-consent';
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { REPO_ROOT } from './support/broker-host';
import { launchChromium } from './support/chromium';
import { CLIENT_KEY, connect, OPERATOR_KEY, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

let world: World;
let browser: Browser | undefined;

beforeAll(async () => {
  world = await startWorld({
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROVIDERS: JSON.stringify({ ...providers, oidcpost: { ...providers.oidcpost, deprecatedAfter: '2026-12-31', successor: 'oidc' } }),
    }),
  });
});

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

const reauthorize = (connectionId: string, body: Record<string, unknown>) =>
  world.broker.request('POST', `/api/connections/${connectionId}/reauthorize`, { key: CLIENT_KEY, body });

test('when asked for a provider that is not the successor, then 400 PROVIDER_NOT_SUCCESSOR and the connection stays as it was', async () => {
  const deprecated = await connect(world, 'oidcpost');
  const refused = await reauthorize(deprecated, { provider: 'legacy' });
  expect(refused.status).toBe(400);
  expect(refused.json.error.code).toBe('PROVIDER_NOT_SUCCESSOR');
  const current = await connect(world, 'oidc');
  expect((await reauthorize(current, { provider: 'oidcpost' })).json.error.code).toBe('PROVIDER_NOT_SUCCESSOR');
  const view = await world.broker.request('GET', `/api/connections/${deprecated}`, { key: CLIENT_KEY });
  expect(view.json).toEqual(expect.objectContaining({ provider: 'oidcpost', status: 'connected', providerDeprecation: { deprecatedAfter: '2026-12-31', successor: 'oidc' } }));
  const refreshed = await world.broker.request('POST', `/api/connections/${deprecated}/refresh`, { key: CLIENT_KEY });
  expect(refreshed.json).toEqual(expect.objectContaining({ connectionId: deprecated, providerDeprecation: { deprecatedAfter: '2026-12-31', successor: 'oidc' } }));
});

test('the operator list and detail carry providerDeprecation for a deprecated provider only', async () => {
  const [deprecated, current] = [await connect(world, 'oidcpost'), await connect(world, 'oidc')];
  const sunset = { deprecatedAfter: '2026-12-31', successor: 'oidc' };
  const listed = await world.broker.request('GET', '/api/ops/connections?clientId=app1', { key: OPERATOR_KEY });
  expect(listed.status).toBe(200);
  const listedById = new Map<string, Record<string, unknown>>(listed.json.items.map((item: { connectionId: string }) => [item.connectionId, item]));
  expect(listedById.get(deprecated)).toEqual(expect.objectContaining({ provider: 'oidcpost', clientId: 'app1', providerDeprecation: sunset }));
  expect(listedById.get(current)).toEqual(expect.objectContaining({ provider: 'oidc', clientId: 'app1' }));
  expect(listedById.get(current)).not.toHaveProperty('providerDeprecation');

  const detail = await world.broker.request('GET', `/api/ops/connections/${deprecated}?clientId=app1`, { key: OPERATOR_KEY });
  expect(detail.json.connection).toEqual(expect.objectContaining({ connectionId: deprecated, providerDeprecation: sunset }));
  const currentDetail = await world.broker.request('GET', `/api/ops/connections/${current}?clientId=app1`, { key: OPERATOR_KEY });
  expect(currentDetail.json.connection).not.toHaveProperty('providerDeprecation');
  const refreshed = await world.broker.request('POST', `/api/ops/connections/${deprecated}/refresh?clientId=app1`, { key: OPERATOR_KEY });
  expect(refreshed.json).toEqual(expect.objectContaining({ connectionId: deprecated, providerDeprecation: sunset }));
});

/** The dashboard signed in, with every script error and CSP violation it causes collected. */
async function signedInDashboard(): Promise<{ page: Page; problems: string[] }> {
  browser ??= await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${world.broker.url}/api/dashboard`);
  await page.getByLabel('Operator key').fill(OPERATOR_KEY);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  return { page, problems };
}

async function openDetail(page: Page, connectionId: string) {
  await page.getByRole('button', { name: `Open connection ${connectionId}` }).click();
  await page.locator('#detail-title', { hasText: `Connection ${connectionId}` }).waitFor();
  return page.locator('#detail-facts dt:text-is("Provider") + dd');
}

test('the dashboard flags a connection to a deprecated provider in its row and its detail, with the day and the successor; a current provider’s has no flag', async () => {
  const [deprecated, current] = [await connect(world, 'oidcpost'), await connect(world, 'oidc')];
  const { page, problems } = await signedInDashboard();
  const deprecatedRow = page.locator(`#connection-rows tr[data-connection-id="${deprecated}"]`);
  const currentRow = page.locator(`#connection-rows tr[data-connection-id="${current}"]`);
  await deprecatedRow.waitFor();
  await currentRow.waitFor();

  const rowFlag = deprecatedRow.locator('td.provider .sunset');
  expect(await rowFlag.textContent()).toBe('deprecated after 2026-12-31 → successor oidc');
  expect(await rowFlag.locator('time').getAttribute('datetime')).toBe('2026-12-31');
  expect(await rowFlag.getAttribute('title')).toContain('reauthorize it onto oidc');
  expect(await deprecatedRow.locator('td.provider').textContent()).toMatch(/^oidcpost /);
  // Screen readers hear the words, not the arrow.
  expect(await rowFlag.evaluate((node) => [...node.querySelectorAll('[aria-hidden="true"]')].map((hidden) => hidden.textContent))).toEqual([' →']);
  // Styled by pages.css (the CSP allows no inline style): the badge has its own background.
  expect(await rowFlag.evaluate((node) => node.ownerDocument.defaultView?.getComputedStyle(node).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
  expect(await currentRow.locator('td.provider').textContent()).toBe('oidc');
  expect(await currentRow.locator('.sunset').count()).toBe(0);

  const deprecatedFacts = await openDetail(page, deprecated);
  expect(await deprecatedFacts.textContent()).toBe('oidcpost (oauth2) deprecated after 2026-12-31 → successor oidc');
  expect(await deprecatedFacts.locator('.sunset code').textContent()).toBe('oidc');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-provider-sunset.png'), fullPage: true });
  const currentFacts = await openDetail(page, current);
  expect(await currentFacts.textContent()).toBe('oidc (oauth2)');
  expect(await page.locator('#detail-facts .sunset').count()).toBe(0);
  expect(problems).toEqual([]);
  await page.close();
});

test('reauthorizing onto the successor moves the same connection there; the old grant is revoked after the new token was issued', async () => {
  const connectionId = await connect(world, 'oidcpost');
  const before = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  const oldExchange = (await world.oidc.tokenLog()).filter((entry) => entry.clientId === 'broker-post' && entry.accessTokenFingerprint === tokenFingerprint(before.json.accessToken));
  expect(oldExchange).toHaveLength(1);

  const started = await reauthorize(connectionId, { provider: 'oidc' });
  expect(started.status).toBe(200);
  expect(started.json).toEqual(expect.objectContaining({ connectionId, provider: 'oidc', status: 'awaiting_callback' }));
  expect(new URL(started.json.authorizationUrl).searchParams.get('client_id')).toBe('broker');
  // Until the successor's consent, the connection is still the deprecated provider's.
  expect((await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json.provider).toBe('oidcpost');

  const callback = await completeConsent(started.json.authorizationUrl, { account: 'alice', approve: true });
  expect(new URL(callback).pathname).toBe('/api/callback/oidc');
  expect([200, 302]).toContain((await world.broker.request('GET', callback)).status);
  await waitForStatus(world, connectionId, 'connected');

  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json).toEqual(expect.objectContaining({ connectionId, provider: 'oidc', protocol: 'oauth2', status: 'connected' }));
  expect(view.json).not.toHaveProperty('providerDeprecation');
  const after = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  const newExchange = (await world.oidc.tokenLog()).find((entry) => entry.accessTokenFingerprint === tokenFingerprint(after.json.accessToken));
  expect(newExchange).toEqual(expect.objectContaining({ clientId: 'broker', grantType: 'authorization_code', outcome: 'ok' }));

  const revocation = (await world.oidc.revocationLog()).find((entry) => entry.tokenFingerprint === oldExchange[0].issuedRefreshTokenFingerprint);
  expect(revocation).toEqual(expect.objectContaining({ clientId: 'broker-post', outcome: 'ok', tokenTypeHint: 'refresh_token' }));
  expect(Date.parse(revocation!.at)).toBeGreaterThanOrEqual(Date.parse(newExchange!.at));
  // The old grant is gone at the provider; the new token works, through the proxy too.
  expect((await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${before.json.accessToken}` } })).status).toBe(401);
  const proxied = await world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(proxied.status).toBe(200);
  expect(proxied.json).toEqual(expect.objectContaining({ clientId: 'broker', sub: 'alice' }));
});
