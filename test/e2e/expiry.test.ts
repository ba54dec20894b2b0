/** Timeout → expired: the orchestration's timer wins the race against the callback event. */
import { connectionStatus, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(90_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ authorizationTimeoutSeconds: 3 });
});
afterAll(async () => {
  await world?.stop();
});

test('without a callback in time the connection becomes expired, and a late callback changes nothing', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  expect(Date.parse(started.authorizationExpiresAt) - Date.now()).toBeLessThanOrEqual(4_000);
  const callback = await consent(world, started.authorizationUrl);
  await waitForStatus(world, started.connectionId, 'expired', 20_000);
  const late = await world.broker.request('GET', callback);
  expect(late.status).toBe(400);
  expect(late.text).toContain('STATE_EXPIRED');
  expect(await connectionStatus(world, started.connectionId)).toBe('expired');
});

