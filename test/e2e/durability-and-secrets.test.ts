/**
 * Durability: a host SIGKILLed while a connection awaits its callback carries on after a restart.
 * Secrets at rest: after OAuth 2.0 and OAuth 1.0a flows (with refreshes), no access token, refresh
 * token, token secret, code or verifier appears in plain text anywhere in the storage account.
 */
import { eventually } from './support/broker-host';
import { fingerprint, scanStorage } from './support/storage-scan';
import { CLIENT_KEY, connect, connectionStatus, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(180_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ accessTokenTtlSeconds: 5 });
});
afterAll(async () => {
  await world?.stop();
});

test('SIGKILL while a connection awaits its callback, restart, callback: connected', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const callback = await consent(world, started.authorizationUrl);
  await world.broker.kill('SIGKILL');
  await world.broker.restart();
  expect(await connectionStatus(world, started.connectionId)).toBe('awaiting_callback');
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
  const token = await world.broker.request('GET', `/api/connections/${started.connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
});

test('no issued secret is stored in plain text in any table, queue or blob', async () => {
  const oauth2 = await connect(world, 'oidc');
  const oauth1 = await connect(world, 'legacy');
  // Let the 5-second tokens refresh at least twice so rotated tokens are covered too.
  await eventually(async () => {
    const refreshes = (await world.oidc.tokenLog()).filter((e) => e.grantType === 'refresh_token' && e.outcome === 'ok');
    return refreshes.length >= 2 ? true : undefined;
  }, 40_000, 250);
  const token2 = await world.broker.request('GET', `/api/connections/${oauth2}/token`, { key: CLIENT_KEY });
  const token1 = await world.broker.request('GET', `/api/connections/${oauth1}/token`, { key: CLIENT_KEY });
  expect(token2.status).toBe(200);
  expect(token1.status).toBe(200);

  const secrets = new Set<string>();
  for (const entry of await world.oidc.tokenLog()) {
    for (const value of [entry.accessTokenFingerprint, entry.issuedRefreshTokenFingerprint, entry.codeFingerprint, entry.codeVerifierFingerprint, entry.idTokenFingerprint]) {
      if (value) secrets.add(value);
    }
  }
  const issuedByOAuth1 = (await (await fetch(world.oauth1.url('/__issued'))).json()) as string[];
  for (const value of issuedByOAuth1) secrets.add(value);
  // What the broker handed out must be among the fingerprints, or the scan proves nothing.
  expect(secrets).toContain(fingerprint(token2.json.accessToken));
  expect(secrets).toContain(fingerprint(token1.json.oauthTokenSecret));
  expect(secrets.size).toBeGreaterThan(10);

  const scan = await scanStorage(world.azurite.connectionString);
  expect(scan.tables.length).toBeGreaterThan(0);
  // The scan sees the sealed rows themselves (sanity check that it reads what the broker wrote).
  expect(scan.texts).toBeGreaterThan(0);
  expect(scan.fingerprints.has(fingerprint(oauth2))).toBe(true);
  const leaked = [...secrets].filter((s) => scan.fingerprints.has(s));
  expect(leaked).toEqual([]);
});
