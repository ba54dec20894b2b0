/**
 * Connect links end to end (issue 17, item 2): POST /connect-links answers a single-use URL that
 * names nobody; its page offers the link's provider(s) without using it up; posting the page's form
 * starts the connection for the end user the client named; a second use is refused.
 */
import { CLIENT_KEY, consent, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

function createLink(body: Record<string, unknown>) {
  return world.broker.request('POST', '/api/connect-links', { key: CLIENT_KEY, body });
}

test('When an end user opens a connect link, then it starts their connection once and carries no personal data', async () => {
  const endUserId = 'user-4711@example.com';
  const created = await createLink({ endUserId, provider: 'oidc', scopes: ['openid', 'read'] });
  expect(created.status).toBe(201);
  const { url, expiresAt } = created.json;
  expect(url.startsWith(`${world.broker.url}/api/link/`)).toBe(true);
  expect(url).not.toContain('4711');
  expect(url).not.toContain('oidc');
  const ttlMs = Date.parse(expiresAt) - Date.now();
  expect(ttlMs).toBeGreaterThan(9 * 60_000);
  expect(ttlMs).toBeLessThanOrEqual(10 * 60_000);

  // Opening (or previewing) the page uses nothing up, and the page names no one.
  for (let i = 0; i < 2; i++) {
    const page = await world.broker.request('GET', url);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-provider="oidc"');
    expect(page.text).not.toContain('4711');
  }

  const used = await postForm(url, { provider: 'oidc' });
  expect(used.status).toBe(200);
  const authorizationUrl = metaRefreshTarget(used.text);
  expect(authorizationUrl.startsWith(world.oidc.url('/auth'))).toBe(true);
  const callback = await consent(world, authorizationUrl);
  expect((await world.broker.request('GET', callback)).status).toBe(200);

  const listed = await world.broker.request('GET', `/api/connections?endUserId=${encodeURIComponent(endUserId)}&provider=oidc`, { key: CLIENT_KEY });
  expect(listed.json.items).toHaveLength(1);
  await waitForStatus(world, listed.json.items[0].connectionId, 'connected');

  const again = await postForm(url, { provider: 'oidc' });
  expect(again.status).toBe(410);
  expect(again.text).toContain('CONNECT_LINK_INVALID');
  expect((await world.broker.request('GET', url)).status).toBe(410);
});

test('When a link offers a choice, then the page lists each provider and only those can be used', async () => {
  const created = await createLink({ endUserId: 'user-choice', providers: ['oidc', 'legacy'] });
  expect(created.status).toBe(201);
  const page = await world.broker.request('GET', created.json.url);
  expect(page.text).toContain('data-provider="oidc"');
  expect(page.text).toContain('data-provider="legacy"');
  const refused = await postForm(created.json.url, { provider: 'oidcpost' });
  expect(refused.status).toBe(400);
  const used = await postForm(created.json.url, { provider: 'legacy' });
  expect(used.status).toBe(200);
  expect(metaRefreshTarget(used.text).startsWith(world.oauth1.authorizationUrl)).toBe(true);
});

test('When a link is malformed or names nobody, then it is refused', async () => {
  expect((await createLink({ provider: 'oidc' })).status).toBe(400);
  expect((await createLink({ endUserId: 'u', provider: 'nope' })).status).toBe(400);
  expect((await createLink({ endUserId: 'u', provider: 'oidc', providers: ['oidc'] })).status).toBe(400);
  expect((await createLink({ endUserId: 'u', provider: 'oidc', expiresInSeconds: 86_400 })).status).toBe(400);
  expect((await createLink({ endUserId: 'u', provider: 'oidc', returnTo: 'https://evil.example/' })).status).toBe(400);
  expect((await world.broker.request('POST', '/api/connect-links', { body: { endUserId: 'u', provider: 'oidc' } })).status).toBe(401);
  expect((await world.broker.request('GET', '/api/link/not-a-link')).status).toBe(410);
});

async function postForm(url: string, form: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form), redirect: 'manual' });
  return { status: response.status, text: await response.text() };
}

function metaRefreshTarget(html: string): string {
  const match = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html);
  if (!match) throw new Error(`no meta refresh in ${html}`);
  return match[1].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
