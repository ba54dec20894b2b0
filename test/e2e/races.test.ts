/**
 * The broker's races under the local host's semantics (events delivered to a generation that then
 * continues as new are dropped, as on Azure): a reauthorize raised while a refresh runs, and forged
 * callbacks that must not kill a pending connection.
 */
import { CLIENT_KEY, connect, connectionStatus, consent, startConnection, startWorld, waitForStatus, World } from './support/world';
import { eventually } from './support/broker-host';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 3600 });
});
afterAll(async () => {
  await world?.stop();
});

const request = (method: string, route: string) => world.broker.request(method, route, { key: CLIENT_KEY });

test('a reauthorize raised while a refresh runs is not lost: the user consents and the connection is connected again', async () => {
  const connectionId = await connect(world, 'oidc');
  await world.oidc.setFault({ token: { delayMs: 3_000 } });
  const refreshing = request('POST', `/api/connections/${connectionId}/refresh`);
  await eventually(async () => ((await connectionStatus(world, connectionId)) === 'refreshing' ? true : undefined));

  const reauthorized = await request('POST', `/api/connections/${connectionId}/reauthorize`);
  expect(reauthorized.status).toBe(200);
  await refreshing;

  const callback = await consent(world, reauthorized.json.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(200);
  await waitForStatus(world, connectionId, 'connected');
  expect((await request('GET', `/api/connections/${connectionId}/token`)).status).toBe(200);
});

test('a forged OAuth 1.0a verifier is refused with 400 and the real callback still connects', async () => {
  const started = await startConnection(world, { provider: 'legacy' });
  const genuine = await consent(world, started.authorizationUrl);
  const forged = new URL(genuine, world.broker.url);
  forged.searchParams.set('oauth_verifier', 'forged-verifier-123');

  const refused = await world.broker.request('GET', `${forged.pathname}${forged.search}`);
  expect(refused.status).toBe(400);
  expect(await connectionStatus(world, started.connectionId)).toBe('awaiting_callback');
  // The same forgery again is turned away at once.
  expect((await world.broker.request('GET', `${forged.pathname}${forged.search}`)).status).toBe(400);

  const answer = await world.broker.request('GET', genuine);
  expect(answer.status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});

test('an OAuth 2.0 callback whose code the provider rejects is refused with 400 and the real callback still connects', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const genuine = await consent(world, started.authorizationUrl);
  const forged = new URL(genuine, world.broker.url);
  forged.searchParams.set('code', 'made-up-authorization-code');

  expect((await world.broker.request('GET', `${forged.pathname}${forged.search}`)).status).toBe(400);
  expect(await connectionStatus(world, started.connectionId)).toBe('awaiting_callback');

  expect((await world.broker.request('GET', genuine)).status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});
