/**
 * Token reads under load: when the stored access token has expired and no orchestration is running
 * to refresh it, 100 concurrent `GET …/token` cause exactly one refresh at the provider and all get
 * the same new token.
 */
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { CLIENT_KEY, connect, OPERATOR_KEY, startWorld, World } from './support/world';

jest.setTimeout(90_000);

const READERS = 100;

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 5 });
});
afterAll(async () => {
  await world?.stop();
});

const refreshesOf = async (clientId: string) =>
  (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.clientId === clientId);

test(`when the token has expired, ${READERS} concurrent token reads cause exactly one refresh and all get the same new token`, async () => {
  const connectionId = await connect(world, 'oidc');

  // Stop the timer-driven refresh loop, so nothing refreshes the token before it expires.
  const terminated = await world.broker.request('POST', `/api/ops/connections/${connectionId}/terminate`, { key: OPERATOR_KEY });
  expect(terminated.status).toBe(202);
  await eventually(async () => {
    const ops = await world.broker.request('GET', `/api/ops/connections/${connectionId}`, { key: OPERATOR_KEY });
    return ops.json?.orchestration?.runtimeStatus === 'Terminated' ? true : undefined;
  }, 10_000);

  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  const expiresAt = Date.parse(view.json.expiresAt);
  // A refresh already under way when the orchestration was terminated would land meanwhile: count from here.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 500));
  const expired = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(Date.parse(expired.json.expiresAt)).toBeLessThan(Date.now());
  const before = await refreshesOf('broker');

  const answers = await Promise.all(
    Array.from({ length: READERS }, () => world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })),
  );
  const after = await refreshesOf('broker');

  expect(answers.map((a) => a.status)).toEqual(Array(READERS).fill(200));
  const tokens = new Set(answers.map((a) => a.json.accessToken));
  expect(tokens.size).toBe(1);
  const newRefreshes = after.slice(before.length);
  expect(newRefreshes).toHaveLength(1);
  expect(newRefreshes[0].outcome).toBe('ok');
  // The one token everybody got is the one that refresh issued, and it is valid now.
  const [token] = [...tokens];
  expect(newRefreshes[0].accessTokenFingerprint).toBe(tokenFingerprint(token));
  expect(Date.parse(answers[0].json.expiresAt)).toBeGreaterThan(Date.now());
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);

  // The token service restarted the maintain loop: the connection keeps refreshing by itself.
  await eventually(async () => ((await refreshesOf('broker')).length > after.length ? true : undefined), 20_000, 250);
});
