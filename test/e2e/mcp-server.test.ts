/**
 * The broker behind an MCP server, end to end (issue 17, item 5): the example server
 * (examples/mcp-server) driven by the MCP SDK's own client. The first tool call answers a URL-mode
 * elicitation carrying a connect link; the user opens it in Chromium and consents at the real
 * oidc-provider; the retried call succeeds; and nothing the MCP client received holds a provider token.
 */
import { chromium, type Browser } from 'playwright-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type ElicitRequestURLParams } from '@modelcontextprotocol/sdk/types.js';
import { startExampleServer, type ExampleServer } from '../../examples/mcp-server/server';
import { fingerprint } from './support/storage-scan';
import { CLIENT_KEY, startWorld, World } from './support/world';

jest.setTimeout(120_000);

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

let world: World;
let mcp: ExampleServer;
let browser: Browser;
beforeAll(async () => {
  world = await startWorld();
  mcp = await startExampleServer({
    brokerUrl: world.broker.url,
    brokerKey: CLIENT_KEY,
    provider: 'oidc',
    profilePath: 'me',
    users: new Map([['alice-session-token', 'mcp-user-alice']]),
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await mcp?.close();
  await world?.stop();
});

test('When the user has no connection, then the tool asks for a URL elicitation; after connecting in the browser the retried call succeeds without any token reaching the client', async () => {
  // Everything the MCP client receives over the wire.
  const received: string[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    received.push(JSON.stringify([...response.headers]), await response.clone().text());
    return response;
  };
  const client = new Client({ name: 'e2e-client', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: 'Bearer alice-session-token' } }, fetch: recordingFetch }),
  );

  const first = await client.callTool({ name: 'provider_profile' }).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(first).toBeInstanceOf(McpError);
  expect((first as McpError).code).toBe(ErrorCode.UrlElicitationRequired);
  const [elicitation] = ((first as McpError).data as { elicitations: ElicitRequestURLParams[] }).elicitations;
  expect(elicitation.mode).toBe('url');
  expect(elicitation.url.startsWith(`${world.broker.url}/api/link/`)).toBe(true);
  expect(elicitation.url).not.toContain('alice');

  // The user opens the link in a browser: the broker's page, the provider's login and consent.
  const page = await browser.newPage();
  await page.goto(elicitation.url);
  await page.locator('button[data-provider="oidc"]').click();
  await page.waitForURL((url) => url.href.startsWith(world.oidc.url('/interaction/')));
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${world.broker.url}/api/callback/oidc`));
  await expect(page.locator('#result').getAttribute('data-status')).resolves.toBe('connected');
  await page.close();

  const retried = await client.callTool({ name: 'provider_profile' });
  expect(retried.isError).toBeFalsy();
  const [content] = retried.content as Array<{ type: string; text: string }>;
  expect(JSON.parse(content.text)).toEqual({ subject: 'alice', scope: expect.stringContaining('read') });
  await client.close();

  // The connection belongs to the MCP server's user, and its token never reached the MCP client.
  const listed = await world.broker.request('GET', '/api/connections?endUserId=mcp-user-alice&provider=oidc', { key: CLIENT_KEY });
  expect(listed.json.items).toHaveLength(1);
  const token = await world.broker.request('GET', `/api/connections/${listed.json.items[0].connectionId}/token`, { key: CLIENT_KEY });
  const issued = new Set<string>();
  for (const entry of await world.oidc.tokenLog()) {
    for (const value of [entry.accessTokenFingerprint, entry.issuedRefreshTokenFingerprint, entry.idTokenFingerprint, entry.codeFingerprint]) if (value) issued.add(value);
  }
  expect(issued).toContain(fingerprint(token.json.accessToken));
  const everything = received.join('\n');
  // The recording saw the exchange (the link and the profile), so the absence below means something.
  expect(everything).toContain(elicitation.url);
  expect(everything).toContain('\\"subject\\":\\"alice\\"');
  expect(everything).not.toContain(token.json.accessToken);
  const seen = [...everything.matchAll(/[A-Za-z0-9._~+/=-]{8,}/g)].flatMap((m) => [m[0], ...m[0].split(/[.=+/]/)]).map(fingerprint);
  expect(seen.filter((f) => issued.has(f))).toEqual([]);
});
