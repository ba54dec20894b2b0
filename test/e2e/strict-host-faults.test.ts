/**
 * The broker under the local host's "every activity runs twice" switch (devhost/README.md, "Fault
 * switches"; at-least-once, as on Azure), against oidc-provider with refresh-token rotation, where a
 * rotated refresh token presented again is refused. The delivery-delay switch: delivery-delay.test.ts.
 */
import { CLIENT_KEY, connect, startWorld, World } from './support/world';
import { eventually } from './support/broker-host';
import type { TokenLogEntry } from '../support/oidc/start-oidc-provider';

jest.setTimeout(120_000);

const refreshesOf = (log: TokenLogEntry[]) => log.filter((e) => e.grantType === 'refresh_token');

/** Every refresh token the broker presented, and whether any was presented twice. */
function presentedTwice(log: TokenLogEntry[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const entry of refreshesOf(log)) {
    const fingerprint = entry.refreshTokenFingerprint ?? '';
    if (seen.has(fingerprint)) twice.push(fingerprint);
    seen.add(fingerprint);
  }
  return twice;
}

// One host, and two hosts on one task hub behind the round-robin front, where the second run of an
// activity may happen on the other host.
describe.each([1, 2])('with every activity run twice, on %i host(s)', (hosts) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ hosts, accessTokenTtlSeconds: 6, extraSettings: { DEVHOST_FAULT_ACTIVITY_TWICE: '1' } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  test('short-lived tokens refresh by themselves, no rotated refresh token is presented twice and nothing ends reauth_required', async () => {
    const connectionId = await connect(world, 'oidc');
    // Three refreshes by the loop itself (6-second tokens are due after 3 s).
    await eventually(async () => (refreshesOf(await world.oidc.tokenLog()).length >= 3 ? true : undefined), 60_000, 250);
    const log = await world.oidc.tokenLog();
    expect(presentedTwice(log)).toEqual([]);
    expect(refreshesOf(log).map((e) => e.outcome)).toEqual(refreshesOf(log).map(() => 'ok'));
    const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
    expect(view.json.status).toMatch(/^(connected|refreshing)$/);
    expect((await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).status).toBe(200);
  });

  test('forced refreshes and token reads at once still present each rotated refresh token once', async () => {
    const connectionId = await connect(world, 'oidc');
    const calls = await Promise.all([
      ...Array.from({ length: 4 }, () => world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY })),
      ...Array.from({ length: 20 }, () => world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })),
    ]);
    expect(calls.map((call) => call.status).filter((status) => status !== 200 && status !== 429)).toEqual([]);
    const log = await world.oidc.tokenLog();
    expect(presentedTwice(log)).toEqual([]);
    expect(refreshesOf(log).filter((e) => e.outcome !== 'ok')).toEqual([]);
    const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
    expect(view.json.status).toMatch(/^(connected|refreshing)$/);
  });
});
