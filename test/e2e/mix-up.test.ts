/**
 * Mix-up defence (RFC 9207) end to end against oidc-provider, which puts `iss` in its authorization
 * responses: a provider definition declares its `issuer` (and that it always sends `iss`), and a
 * callback naming another issuer, or none where one is required, is refused with ISSUER_MISMATCH
 * while the connection keeps waiting for its genuine callback.
 */
import { CLIENT_KEY, consent, startConnection, startWorld, waitForStatus, World } from './support/world';
import { withParam, without } from './support/urls';

jest.setTimeout(90_000);

let world: World;

beforeAll(async () => {
  world = await startWorld({
    extraSettings: (_brokerUrl, providers) => ({
      BROKER_PROVIDERS: JSON.stringify({
        ...providers,
        oidc: { ...providers.oidc, issuer: new URL(String(providers.oidc.authorizationUrl)).origin, authorizationResponseIssRequired: true },
        // Declares an issuer the real one does not match: every response it gets is a mix-up.
        oidcpost: { ...providers.oidcpost, issuer: 'https://another-issuer.example' },
      }),
    }),
  });
});
afterAll(async () => {
  await world?.stop();
});

const status = async (connectionId: string) => (await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json.status;
const tokenRequests = async () => (await world.oidc.tokenLog()).length;

test('the test provider sends iss in its authorization responses (what the other tests rely on)', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const callback = new URL(await consent(world, started.authorizationUrl));
  expect(callback.searchParams.get('iss')).toBe(world.oidc.issuer);
  expect((await world.broker.request('GET', callback.toString())).status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});

test.each([
  ['names another issuer', (callback: URL) => withParam(callback, 'iss', 'https://attacker.example')],
  ['names the issuer with a trailing slash (compared as a simple string)', (callback: URL) => withParam(callback, 'iss', `${world.oidc.issuer}/`)],
  ['carries no iss although the provider always sends it', (callback: URL) => without(callback, 'iss')],
])('when the authorization response %s, then it is refused with ISSUER_MISMATCH, nothing is exchanged, and the genuine one still connects', async (_name, forge) => {
  const started = await startConnection(world, { provider: 'oidc' });
  const callback = new URL(await consent(world, started.authorizationUrl));
  const before = await tokenRequests();

  const refused = await world.broker.request('GET', forge(callback));

  expect(refused.status).toBe(400);
  expect(refused.text).toContain('ISSUER_MISMATCH');
  expect(await tokenRequests()).toBe(before);
  expect(await status(started.connectionId)).toBe('awaiting_callback');

  expect((await world.broker.request('GET', callback.toString())).status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});

test('when a provider declares an issuer its authorization server does not have, then its genuine responses are refused as mix-ups', async () => {
  const started = await startConnection(world, { provider: 'oidcpost' });
  const callback = await consent(world, started.authorizationUrl);
  const before = await tokenRequests();

  const refused = await world.broker.request('GET', callback);

  expect(refused.status).toBe(400);
  expect(refused.text).toContain('ISSUER_MISMATCH');
  expect(await tokenRequests()).toBe(before);
  expect(await status(started.connectionId)).toBe('awaiting_callback');
});
