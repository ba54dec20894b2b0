/**
 * Fault injection end to end: the provider's token endpoint answers 500, 429 with Retry-After, hangs
 * or resets the connection, during the code exchange and during refresh; Azurite restarts mid-run;
 * the host is SIGKILLed while a refresh is in flight. Afterwards no connection has lost its
 * credentials, no rotated refresh token was used twice, and every connection is connected again or
 * in a truthful status.
 *
 * One world (1-hour tokens, so refreshes happen only when a test forces them and each injected fault
 * reaches the request the test aims at). Provider `oidc` (OAuth client `broker`) carries the
 * connections whose refresh tokens must never be reused; `oidcpost` (`broker-post`) carries the one
 * case where the provider rotated the token and its answer was lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EndpointFault } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { auditRefreshTokens } from './support/faults';
import { CLIENT_KEY, connect, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
let azuriteFolder: string;
/** Connections of provider `oidc` made by these tests; each must end connected. */
const oidcConnections: string[] = [];

beforeAll(async () => {
  azuriteFolder = mkdtempSync(path.join(tmpdir(), 'broker-faults-azurite-'));
  world = await startWorld({ azuriteLocation: azuriteFolder });
});
afterAll(async () => {
  await world?.stop();
  if (azuriteFolder) rmSync(azuriteFolder, { recursive: true, force: true });
});

type FaultCase = [name: string, fault: EndpointFault, outcome: string];

const TRANSPORT_AND_STATUS_FAULTS: FaultCase[] = [
  ['a 500', { status: 500 }, 'fault:500'],
  ['a 429 with Retry-After: 7', { status: 429, retryAfter: 7 }, 'fault:429'],
  ['no answer (hang until the broker times out)', { hang: true }, 'fault:hang'],
  ['a connection reset', { reset: true }, 'fault:reset'],
];

async function tokenOf(connectionId: string) {
  return world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
}

async function viewOf(connectionId: string) {
  return (await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json;
}

async function tokenLogSince(index: number) {
  return (await world.oidc.tokenLog()).slice(index);
}

describe('during the code exchange', () => {
  test.each(TRANSPORT_AND_STATUS_FAULTS)('when the token endpoint answers with %s once, then the exchange is retried and the connection connects', async (_name, fault, outcome) => {
    const started = await startConnection(world, { provider: 'oidc' });
    const callback = await consent(world, started.authorizationUrl);
    const logStart = (await world.oidc.tokenLog()).length;
    await world.oidc.setFault({ token: fault });

    const answer = await world.broker.request('GET', callback);
    // The browser gets a truthful page: connected if the retry finished within the wait, else the status reached so far.
    expect([200, 302]).toContain(answer.status);
    await waitForStatus(world, started.connectionId, 'connected', 30_000);
    oidcConnections.push(started.connectionId);

    const log = await tokenLogSince(logStart);
    expect(log.map((e) => e.outcome)).toEqual([outcome, 'ok']);
    expect(log[1].grantType).toBe('authorization_code');
    const token = await tokenOf(started.connectionId);
    expect(token.status).toBe(200);
    expect(token.json.accessToken).toEqual(expect.any(String));
  });
});

describe('during refresh', () => {
  let connectionId: string;
  beforeAll(async () => {
    connectionId = await connect(world, 'oidc');
    oidcConnections.push(connectionId);
  });

  test.each(TRANSPORT_AND_STATUS_FAULTS)('when the token endpoint answers with %s once, then the last good token is kept and a retry refreshes it', async (_name, fault, outcome) => {
    const before = await tokenOf(connectionId);
    expect(before.status).toBe(200);
    const logStart = (await world.oidc.tokenLog()).length;
    await world.oidc.setFault({ token: fault });

    const forced = await world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY });
    // The forced refresh reports the transient failure truthfully and keeps the connection connected.
    expect(forced.status).toBe(200);
    expect(forced.json.status).toBe('connected');
    expect(forced.json.error.code).toMatch(/^PROVIDER_(UNAVAILABLE|TIMEOUT)$/);
    const kept = await tokenOf(connectionId);
    expect(kept.status).toBe(200);
    expect(kept.json.accessToken).toBe(before.json.accessToken);

    // The orchestration retries with backoff; the retry presents the same (never rotated) token.
    const log = await eventually(async () => {
      const entries = await tokenLogSince(logStart);
      return entries.some((e) => e.outcome === 'ok') ? entries : undefined;
    }, 40_000, 200);
    expect(log.map((e) => e.outcome)).toEqual([outcome, 'ok']);
    expect(log[1].grantType).toBe('refresh_token');
    if (fault.retryAfter !== undefined) {
      // Lower bound only: the broker waited at least what the provider asked for.
      expect(Date.parse(log[1].at) - Date.parse(log[0].at)).toBeGreaterThanOrEqual(Number(fault.retryAfter) * 1000);
    }
    await eventually(async () => ((await viewOf(connectionId)).error === undefined ? true : undefined), 10_000);
    const view = await viewOf(connectionId);
    expect(view.status).toBe('connected');
    const after = await tokenOf(connectionId);
    expect(after.status).toBe(200);
    expect(after.json.accessToken).not.toBe(before.json.accessToken);
  });

  test('when the provider rotates the refresh token but its answer is lost, then the broker ends truthfully reauth_required and reauthorization recovers it', async () => {
    // The broker cannot know the provider answered: it retries with the token it holds, which
    // oidc-provider has rotated away and now refuses (invalid_grant, grant revoked).
    const lostId = await connect(world, 'oidcpost');
    const logStart = (await world.oidc.tokenLog()).length;
    await world.oidc.setFault({ token: { reset: true, afterAnswer: true } });

    await world.broker.request('POST', `/api/connections/${lostId}/refresh`, { key: CLIENT_KEY });
    await waitForStatus(world, lostId, 'reauth_required', 40_000);
    const log = await tokenLogSince(logStart);
    expect(log.map((e) => e.outcome)).toEqual(['fault:reset-after-answer', 'invalid_grant']);
    expect(log[0].providerOutcome).toBe('ok');
    expect(log[1].refreshTokenFingerprint).toBe(log[0].refreshTokenFingerprint);
    const view = await viewOf(lostId);
    expect(view.error.code).toBe('OAUTH_INVALID_GRANT');
    const token = await tokenOf(lostId);
    expect(token.status).toBe(409);
    expect(token.json.error.code).toBe('CONNECTION_NOT_CONNECTED');

    const again = await world.broker.request('POST', `/api/connections/${lostId}/reauthorize`, { key: CLIENT_KEY });
    expect(again.status).toBe(200);
    const callback = await world.broker.request('GET', await consent(world, again.json.authorizationUrl));
    expect([200, 302]).toContain(callback.status);
    await waitForStatus(world, lostId, 'connected');
    expect((await tokenOf(lostId)).status).toBe(200);
  });
});

test('when Azurite restarts while a refresh is in flight, then nothing is lost and the connection refreshes', async () => {
  const connectionId = await connect(world, 'oidc');
  oidcConnections.push(connectionId);
  const before = await tokenOf(connectionId);
  // A waiting connection too: its pending authorization must survive the restart.
  const waiting = await startConnection(world, { provider: 'oidc' });
  const callback = await consent(world, waiting.authorizationUrl);

  const forced = world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY }).catch((error: Error) => error);
  await world.azurite.restart();
  const answer = await forced;
  // Whatever the forced refresh saw, it answered truthfully: done, or a retryable error.
  if (!(answer instanceof Error) && answer.status !== 200) {
    expect([503, 504]).toContain(answer.status);
    expect(answer.json.error.code).toMatch(/^(STORAGE_UNAVAILABLE|REFRESH_TIMEOUT)$/);
  }

  await eventually(async () => {
    const token = await tokenOf(connectionId);
    return token.status === 200 && token.json.accessToken !== before.json.accessToken ? true : undefined;
  }, 40_000, 250);
  expect((await viewOf(connectionId)).status).toBe('connected');

  const completed = await world.broker.request('GET', callback);
  expect([200, 302]).toContain(completed.status);
  await waitForStatus(world, waiting.connectionId, 'connected', 30_000);
  oidcConnections.push(waiting.connectionId);
});

test('when the host is SIGKILLed while a refresh waits on the provider, then after a restart the refresh completes with the same, never-answered token', async () => {
  const connectionId = await connect(world, 'oidc');
  oidcConnections.push(connectionId);
  const before = await tokenOf(connectionId);
  const logStart = (await world.oidc.tokenLog()).length;
  await world.oidc.setFault({ token: { hang: true } });

  const forced = world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY }).catch((error: Error) => error);
  await eventually(async () => ((await tokenLogSince(logStart)).some((e) => e.outcome === 'fault:hang') ? true : undefined), 20_000, 50);
  await world.broker.kill('SIGKILL');
  await forced;
  await world.broker.restart();

  // The provider never answered the killed call, so the retried refresh may present the same token.
  await eventually(async () => ((await tokenLogSince(logStart)).some((e) => e.outcome === 'ok') ? true : undefined), 60_000, 250);
  await waitForStatus(world, connectionId, 'connected', 30_000);
  const log = await tokenLogSince(logStart);
  expect(log.map((e) => e.outcome)).toEqual(['fault:hang', 'ok']);
  const after = await tokenOf(connectionId);
  expect(after.status).toBe(200);
  expect(after.json.accessToken).not.toBe(before.json.accessToken);
});

test('afterwards every connection still holds working credentials and no rotated refresh token was used twice', async () => {
  expect(oidcConnections.length).toBeGreaterThanOrEqual(7);
  for (const connectionId of oidcConnections) {
    expect((await viewOf(connectionId)).status).toBe('connected');
    const token = await tokenOf(connectionId);
    expect(token.status).toBe(200);
    const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${token.json.accessToken}` } });
    expect(me.status).toBe(200);
  }
  const audit = auditRefreshTokens(await world.oidc.tokenLog(), 'broker');
  expect(audit.successfulRefreshes).toBeGreaterThanOrEqual(6);
  expect(audit.invalidGrants).toEqual([]);
  expect(audit.reusedSuccessfully).toEqual([]);
  expect(audit.unknownPresented).toEqual([]);
});
