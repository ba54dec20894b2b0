/**
 * The audit trail against the running broker, and the dashboard's pictures drawn from it in a real
 * Chromium. Five-second tokens make the refresh loop run for real (several generations of each
 * orchestration, one injected provider 503), so the charts show data of an actual run; the
 * screenshots land in test-artifacts/ for a human to look at.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { eventually, REPO_ROOT } from './support/broker-host';
import { launchChromium } from './support/chromium';
import { CLIENT_KEY, connect, OPERATOR_KEY, startConnection, startWorld, type World } from './support/world';

jest.setTimeout(180_000);

const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

interface AuditEvent {
  connectionId: string;
  eventId: string;
  type: string;
  at: string;
  clientId?: string;
  details: Record<string, unknown>;
}

let world: World;
let browser: Browser;
let busy: string;
let quiet: string;
let legacy: string;
let failing: string;
const handedOut: string[] = [];

async function events(connectionId: string, query = ''): Promise<{ items: AuditEvent[]; continuation?: string }> {
  const answer = await world.broker.request('GET', `/api/ops/connections/${connectionId}/events${query}`, { key: OPERATOR_KEY });
  if (answer.status !== 200) throw new Error(`events answered ${answer.status}: ${answer.text}`);
  return answer.json;
}

function typesOf(items: AuditEvent[]): string[] {
  return items.map((e) => e.type);
}

beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 5 });
  browser = await launchChromium();
  // While it is the only connection, its refresh fails once at the provider (503); the loop's retry succeeds.
  failing = await connect(world, 'oidc', { endUserId: 'frank' });
  await world.oidc.setFault({ token: { status: 503, times: 1 } });
  await eventually(async () => (typesOf((await events(failing)).items).includes('refresh_failed') ? true : undefined), 30_000, 250);
  [busy, quiet, legacy] = [await connect(world, 'oidc', { endUserId: 'dana' }), await connect(world, 'oidcpost'), await connect(world, 'legacy')];
  await startConnection(world, { provider: 'oidcpost', endUserId: 'erin' }); // stays awaiting_callback
  for (let i = 0; i < 3; i++) {
    const token = await world.broker.request('GET', `/api/connections/${busy}/token`, { key: CLIENT_KEY });
    handedOut.push(token.json.accessToken);
  }
  for (let i = 0; i < 2; i++) expect((await world.broker.request('GET', `/api/connections/${busy}/proxy/me`, { key: CLIENT_KEY })).status).toBe(200);
  // Every refreshing connection through a few generations of its orchestration.
  for (const id of [busy, quiet, failing]) {
    await eventually(async () => (typesOf((await events(id)).items).filter((t) => t === 'refreshed').length >= 3 ? true : undefined), 60_000, 250);
  }
});

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

test('a connection’s events tell its story in order: created, authorized, exchanged, refreshes with their lateness, hourly counts of token reads and proxied calls', async () => {
  const { items } = await events(busy, '?top=1000');
  const types = typesOf(items);
  expect(types.slice(0, 3)).toEqual(['created', 'authorized', 'exchanged']);
  expect(types.filter((t) => t === 'refreshed').length).toBeGreaterThanOrEqual(3);
  expect([...items.map((e) => e.eventId)].sort()).toEqual(items.map((e) => e.eventId));
  expect(items.every((e) => e.connectionId === busy && e.clientId === 'app1')).toBe(true);
  const refreshed = items.filter((e) => e.type === 'refreshed');
  for (const e of refreshed) expect(e.details).toEqual(expect.objectContaining({ latenessMs: expect.any(Number), credentialsVersion: expect.any(Number) }));
  expect(new Set(refreshed.map((e) => e.details.credentialsVersion)).size).toBe(refreshed.length);
  // This process counted the reads and calls and wrote them before answering the operator.
  expect(items.filter((e) => e.type === 'token_reads').map((e) => e.details.count)).toEqual([3]);
  expect(items.filter((e) => e.type === 'proxy_calls').map((e) => e.details)).toEqual([expect.objectContaining({ count: 2, byStatus: { '2xx': 2 } })]);
  const written = JSON.stringify(items);
  for (const token of handedOut) expect(written).not.toContain(token);

  const failed = (await events(failing)).items.find((e) => e.type === 'refresh_failed');
  expect(failed?.details).toMatchObject({ errorCode: 'PROVIDER_UNAVAILABLE', transient: true, status: 'connected' });
  // OAuth 1.0a credentials do not expire: created, authorized, exchanged and nothing since.
  expect(typesOf((await events(legacy)).items)).toEqual(['created', 'authorized', 'exchanged']);
});

test('the log outlives continueAsNew and a purge of the orchestration history, and pages in order', async () => {
  const before = (await events(quiet, '?top=1000')).items;
  const orchestration = (await world.broker.request('GET', `/api/ops/connections/${quiet}`, { key: OPERATOR_KEY })).json.orchestration;
  // The current generation's history no longer shows the exchange; the log still does.
  expect(JSON.stringify(orchestration.history)).not.toContain('exchangeCredentials');
  expect(typesOf(before)).toContain('exchanged');

  expect((await world.broker.request('DELETE', `/api/connections/${quiet}`, { key: CLIENT_KEY })).status).toBe(204);
  const revoked = await eventually(async () => (await events(quiet, '?top=1000')).items.find((e) => e.type === 'revoked'));
  expect(revoked.details).toMatchObject({ revokedAtProvider: true });
  await eventually(async () => {
    const status = (await world.broker.request('GET', `/api/ops/connections/${quiet}`, { key: OPERATOR_KEY })).json.orchestration?.runtimeStatus;
    return status === 'Completed' ? true : undefined;
  });
  expect((await world.broker.request('DELETE', `/api/ops/connections/${quiet}/history`, { key: OPERATOR_KEY })).json.instancesDeleted).toBe(1);

  const paged: AuditEvent[] = [];
  let continuation: string | undefined;
  let pages = 0;
  do {
    const page = await events(quiet, `?top=2${continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''}`);
    expect(page.items.length).toBeLessThanOrEqual(2);
    paged.push(...page.items);
    continuation = page.continuation;
    pages += 1;
  } while (continuation);
  expect(pages).toBeGreaterThan(2);
  expect(paged.map((e) => e.eventId)).toEqual((await events(quiet, '?top=1000')).items.map((e) => e.eventId));
  expect(typesOf(paged)[0]).toBe('created');
  expect(typesOf(paged).at(-1)).toBe('revoked');
});

test('the events route is for operators only, answers 404 for an unknown connection and refuses bad paging', async () => {
  expect((await world.broker.request('GET', `/api/ops/connections/${busy}/events`)).status).toBe(401);
  expect((await world.broker.request('GET', `/api/ops/connections/${busy}/events`, { key: CLIENT_KEY })).status).toBe(403);
  const unknown = await world.broker.request('GET', '/api/ops/connections/no-such-connection/events', { key: OPERATOR_KEY });
  expect([unknown.status, unknown.json.error.code]).toEqual([404, 'CONNECTION_NOT_FOUND']);
  const bad = await world.broker.request('GET', `/api/ops/connections/${busy}/events?top=0`, { key: OPERATOR_KEY });
  expect([bad.status, bad.json.error.code]).toEqual([400, 'INVALID_REQUEST']);
  expect((await world.broker.request('GET', `/api/ops/connections/${busy}/events?colour=blue`, { key: OPERATOR_KEY })).status).toBe(400);
});

async function signedInDashboard(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(`${world.broker.url}/api/dashboard`);
  await page.getByLabel('Operator key').fill(OPERATOR_KEY);
  await page.getByRole('button', { name: 'Open dashboard' }).click();
  await page.locator('#overview[data-events]').waitFor();
  return page;
}

async function barValues(page: Page, chart: string, series: string): Promise<number[]> {
  return page.locator(`figure[data-chart="${chart}"] rect[data-series="${series}"]`).evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-value'))));
}

test('the dashboard draws connections by provider and status, refreshes per hour with the failure, and the lateness distribution', async () => {
  const page = await signedInDashboard();
  const byProvider = page.locator('figure[data-chart="status-by-provider"]');
  expect(await byProvider.locator('g[data-category="oidc"]').getAttribute('data-total')).toBe('2');
  expect(await byProvider.locator('g[data-category="legacy"] rect[data-series="connected"]').getAttribute('data-value')).toBe('1');
  expect(await byProvider.locator('g[data-category="oidcpost"] rect[data-series="awaiting_callback"]').getAttribute('data-value')).toBe('1');
  expect(await byProvider.locator('g[data-category="oidcpost"] rect[data-series="revoked"]').getAttribute('data-value')).toBe('1');

  // The charts count what the events route says, over the listed connections.
  let refreshed = 0;
  let failed = 0;
  let withLateness = 0;
  for (const id of [busy, quiet, legacy, failing]) {
    const items = (await events(id, '?top=1000')).items;
    refreshed += items.filter((e) => e.type === 'refreshed').length;
    withLateness += items.filter((e) => e.type === 'refreshed' && typeof e.details.latenessMs === 'number').length;
    failed += items.filter((e) => e.type === 'refresh_failed').length;
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  // The refresh loop keeps running while the page loads: the page saw at least what the test saw before.
  expect(sum(await barValues(page, 'refreshes-per-hour', 'refreshed'))).toBeGreaterThanOrEqual(9);
  expect(sum(await barValues(page, 'refreshes-per-hour', 'refreshed'))).toBeLessThanOrEqual(refreshed);
  expect(sum(await barValues(page, 'refreshes-per-hour', 'failed'))).toBe(failed);
  expect(failed).toBeGreaterThanOrEqual(1);
  expect(sum(await barValues(page, 'refresh-lateness', 'refreshes'))).toBeGreaterThanOrEqual(9);
  expect(sum(await barValues(page, 'refresh-lateness', 'refreshes'))).toBeLessThanOrEqual(withLateness);
  await page.locator('#overview').screenshot({ path: path.join(ARTIFACTS, 'dashboard-overview.png') });
  expect((page as Page & { problems?: string[] }).problems).toEqual([]);
  await page.close();
});

test('opening a connection on the dashboard shows its event log as a timeline, read from the audit trail', async () => {
  const page = await signedInDashboard();
  await page.getByRole('button', { name: `Open connection ${failing}` }).click();
  await page.locator('#events li[data-type="refresh_failed"]').waitFor();
  const listed = await page.locator('#events li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type')));
  expect(listed.slice(0, 3)).toEqual(['created', 'authorized', 'exchanged']);
  expect(await page.locator('#events li[data-type="refresh_failed"]').textContent()).toContain('PROVIDER_UNAVAILABLE');
  // One dot per listed event, failures in their own colour.
  expect(await page.locator('#event-chart circle').count()).toBe(listed.length);
  expect(await page.locator('#event-chart circle.event-bad').count()).toBe(listed.filter((t) => t === 'refresh_failed').length);
  await page.locator('#detail').screenshot({ path: path.join(ARTIFACTS, 'dashboard-event-log.png') });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-full.png'), fullPage: true });
  expect((page as Page & { problems?: string[] }).problems).toEqual([]);
  await page.close();
});
