/**
 * `response_mode=form_post` end to end in Chromium: the provider definition asks for it, oidc-provider
 * answers with its auto-submitting form, the browser POSTs code and state to the broker's callback,
 * and the connection completes. The code and state then never appear in a URL the browser visited,
 * nor in the broker's telemetry or logs. OAuth 1.0a (and any query-mode provider) keeps using GET.
 */
import { chromium, type Browser } from 'playwright-core';
import { connect, CLIENT_KEY, startConnection, startWorld, waitForStatus, type World } from './support/world';
import { eventually } from './support/broker-host';
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp-receiver';

jest.setTimeout(120_000);

let world: World;
let otlp: OtlpReceiver;
let browser: Browser;
beforeAll(async () => {
  otlp = await startOtlpReceiver();
  world = await startWorld({
    extraSettings: (brokerUrl, providers) => ({
      BROKER_ALLOWED_RETURN_URLS: `${brokerUrl}/api/connect`,
      BROKER_PROVIDERS: JSON.stringify({ ...providers, oidc: { ...providers.oidc, responseMode: 'form_post' } }),
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    }),
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
});
afterAll(async () => {
  await browser?.close();
  await world?.stop();
  await otlp?.stop();
});

test('a form_post provider returns code and state in a POSTed form, and the connection completes', async () => {
  const returnTo = `${world.broker.url}/api/connect`;
  const started = await startConnection(world, { provider: 'oidc', returnTo });
  expect(new URL(started.authorizationUrl).searchParams.get('response_mode')).toBe('form_post');

  const page = await browser.newPage();
  const visited: string[] = [];
  const callbackPosts: Array<{ method: string; url: string; body: string | null }> = [];
  page.on('request', (request) => {
    visited.push(request.url());
    if (request.url().startsWith(`${world.broker.url}/api/callback/`)) callbackPosts.push({ method: request.method(), url: request.url(), body: request.postData() });
  });
  await page.goto(started.authorizationUrl);
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${returnTo}?`));

  const back = new URL(page.url());
  expect(back.searchParams.get('connectionId')).toBe(started.connectionId);
  expect(back.searchParams.get('status')).toBe('connected');
  await waitForStatus(world, started.connectionId, 'connected');
  expect((await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY })).status).toBe(200);

  // The callback was one POST with a form body, its URL carrying no query.
  expect(callbackPosts).toHaveLength(1);
  const [post] = callbackPosts;
  expect(post.method).toBe('POST');
  expect(post.url).toBe(`${world.broker.url}/api/callback/oidc`);
  const form = new URLSearchParams(post.body ?? '');
  const [code, state] = [form.get('code')!, form.get('state')!];
  expect(code && state).toBeTruthy();

  // No URL the browser visited carries the code, no URL at the broker carries the state (it went out
  // in the authorization request, as it must); neither do telemetry or the host's log.
  expect(visited.filter((url) => url.includes(code))).toEqual([]);
  expect(visited.filter((url) => url.startsWith(world.broker.url) && url.includes(state))).toEqual([]);
  const callbackSpan = await eventually(async () => otlp.spans().find((s) => s.name === 'POST oauthCallback'), 20_000, 250);
  expect(callbackSpan.attributes).toMatchObject({ 'url.path': '/api/callback/oidc', 'http.response.status_code': 303 });
  const exported = otlp.rawBodies().join('\n');
  expect(exported).not.toContain(code);
  expect(exported).not.toContain(state);
  expect(world.broker.logs()).not.toContain(code);
  expect(world.broker.logs()).not.toContain(state);
});

test('a callback POST without a urlencoded form is refused like a callback without parameters', async () => {
  const answer = await world.broker.request('POST', '/api/callback/oidc', { body: { code: 'x', state: 'y' } });
  expect(answer.status).toBe(400);
  expect(answer.text).toContain('CALLBACK_INVALID');
});

test('query-mode providers keep using GET callbacks (OAuth 1.0a here)', async () => {
  const connectionId = await connect(world, 'legacy');
  expect(connectionId).toBeTruthy();
});
