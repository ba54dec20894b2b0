/**
 * The refresh margin against the durable backend's delivery delay: with every durable message
 * delivered 30 s late (devhost's DEVHOST_FAULT_DELIVERY_DELAY_MS, the Azure Storage backend's
 * default queue polling of up to 30 s), a refresh crosses up to three delayed hops (the exchange's
 * result, the next generation's start, the due timer) — about 90 s — so the margin has to be at
 * least that (docs/scale.md). With BROKER_REFRESH_MARGIN_SECONDS=120 the token is refreshed before
 * it expires.
 *
 * The watchdog sweeps every few seconds here, so it always reads the connection while its
 * orchestration's start is still on its way (no custom status yet): it once took that for a lost
 * reauthorize and raised the same attempt again, which landed during the exchange and sent the
 * connected orchestration back to waiting for a callback, so no refresh ever happened.
 * Slow by nature (about four minutes).
 */
import { CLIENT_KEY, consent, startWorld, World } from './support/world';
import { eventually } from './support/broker-host';
import type { TokenLogEntry } from '../support/oidc/start-oidc-provider';

const DELAY_MS = 30_000;
const MARGIN_SECONDS = 120;
const TOKEN_SECONDS = 250;

jest.setTimeout(480_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({
    accessTokenTtlSeconds: TOKEN_SECONDS,
    extraSettings: {
      DEVHOST_FAULT_DELIVERY_DELAY_MS: String(DELAY_MS),
      BROKER_REFRESH_MARGIN_SECONDS: String(MARGIN_SECONDS),
      BROKER_WATCHDOG_SCHEDULE: '*/5 * * * * *',
    },
  });
});
afterAll(async () => {
  await world?.stop();
});

const refreshesOf = (log: TokenLogEntry[]) => log.filter((e) => e.grantType === 'refresh_token');

test(`with every message ${DELAY_MS / 1000} s late, a ${MARGIN_SECONDS} s margin refreshes a ${TOKEN_SECONDS} s token before it expires`, async () => {
  const started = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'oidc' } });
  const callback = await consent(world, started.json.authorizationUrl);
  // The callback page answers before the delayed exchange lands; wait for the row instead.
  await world.broker.request('GET', callback);
  const connectionId = started.json.connectionId as string;
  const connected = await eventually(
    async () => {
      const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
      return view.json.status === 'connected' ? (view.json as { expiresAt: string }) : undefined;
    },
    180_000,
    500,
  );

  await eventually(async () => (refreshesOf(await world.oidc.tokenLog()).length >= 1 ? true : undefined), TOKEN_SECONDS * 1000, 1_000);
  const [refresh] = refreshesOf(await world.oidc.tokenLog());
  expect(refresh.outcome).toBe('ok');
  expect(Date.parse(refresh.at)).toBeLessThan(Date.parse(connected.expiresAt));
});
