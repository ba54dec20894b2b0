/**
 * The broker under the local host's fault switches (devhost/README.md, "Fault switches"): every
 * activity run twice (at-least-once, as on Azure) and every durable message delivered 30 s late
 * (the Azure Storage backend's queue polling), against oidc-provider with refresh-token rotation,
 * where a rotated refresh token presented again is refused.
 */
import { CLIENT_KEY, connect, startWorld, World } from './support/world';
import { eventually } from './support/broker-host';
import type { TokenLogEntry } from '../support/oidc/start-oidc-provider';

jest.setTimeout(300_000);

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

describe('with every activity run twice', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: 6, extraSettings: { DEVHOST_FAULT_ACTIVITY_TWICE: '1' } });
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
});

describe('with every durable message delivered 30 s late', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ accessTokenTtlSeconds: 100, extraSettings: { DEVHOST_FAULT_DELIVERY_DELAY_MS: '30000' } });
  });
  afterAll(async () => {
    await world?.stop();
  });

  test('the refresh margin (60 s by default) still refreshes the token before it expires', async () => {
    const connectionId = await eventuallyConnected(world);
    const first = (await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json as { expiresAt: string };
    await eventually(async () => (refreshesOf(await world.oidc.tokenLog()).length >= 1 ? true : undefined), 120_000, 500);
    const refresh = refreshesOf(await world.oidc.tokenLog())[0];
    expect(refresh.outcome).toBe('ok');
    expect(Date.parse(refresh.at)).toBeLessThan(Date.parse(first.expiresAt));
  });
});

/** With 30 s delivery the callback page answers before the exchange lands; wait for the row instead. */
async function eventuallyConnected(world: World): Promise<string> {
  const started = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'oidc' } });
  const { consent } = await import('./support/world');
  const callback = await consent(world, started.json.authorizationUrl);
  await world.broker.request('GET', callback);
  await eventually(
    async () => ((await world.broker.request('GET', `/api/connections/${started.json.connectionId}`, { key: CLIENT_KEY })).json.status === 'connected' ? true : undefined),
    120_000,
    500,
  );
  return started.json.connectionId as string;
}
