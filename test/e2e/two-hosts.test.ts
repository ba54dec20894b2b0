/**
 * The broker on two local hosts sharing one task hub behind a round-robin front, with Azure's
 * semantics (NonRunningStates, events dropped at continueAsNew, partition leases), against
 * oidc-provider with refresh-token rotation (a rotated refresh token presented again is refused and
 * revokes the grant) and the oauthlib provider. Leases are scaled down (4 s) so a dead host's
 * connections move to the survivor in seconds; the watchdog sweeps every 5 s.
 */
import { TableClient } from '@azure/data-tables';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { partitionName, partitionOf } from '../../devhost/src/durable/partitions';
import type { TokenLogEntry } from '../support/oidc/start-oidc-provider';
import { eventually, REPO_ROOT, type BrokerHost } from './support/broker-host';
import { CLIENT_KEY, connect, connectionStatus, consent, OPERATOR_KEY, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(240_000);

const PARTITIONS = 4;
const SWEEP_PERIOD_MS = 5_000;
const REFRESH_MARGIN_MS = 60_000;

let world: World;
beforeAll(async () => {
  world = await startWorld({
    hosts: 2,
    accessTokenTtlSeconds: 3600,
    durableTask: {
      storageProvider: {
        type: 'AzureStorage',
        partitionCount: PARTITIONS,
        leaseInterval: '00:00:04',
        leaseRenewInterval: '00:00:00.500',
        maxQueuePollingInterval: '00:00:01',
      },
    },
    extraSettings: { BROKER_WATCHDOG_SCHEDULE: '*/5 * * * * *' },
  });
});
afterAll(async () => {
  await world?.stop();
});

const get = (route: string, key = CLIENT_KEY) => world.broker.request('GET', route, { key });
const post = (route: string, key = CLIENT_KEY) => world.broker.request('POST', route, { key });
const refreshesOf = (log: TokenLogEntry[], clientId: string) => log.filter((e) => e.grantType === 'refresh_token' && e.clientId === clientId);

async function instanceIdOf(connectionId: string): Promise<string> {
  const ops = await get(`/api/ops/connections/${connectionId}`, OPERATOR_KEY);
  return (ops.json?.orchestration?.instanceId as string | undefined) ?? connectionId;
}

/** The host holding the instance's partition now, by the hosts' own lease logs. */
function ownerOf(instanceId: string): BrokerHost {
  const partition = partitionName(partitionOf(instanceId, PARTITIONS));
  for (const [index, host] of world.hosts.entries()) {
    let holds = false;
    for (const m of host.logs().matchAll(new RegExp(`Worker 'broker-${index + 1}' (acquired|released) partition (p\\d\\d)`, 'g'))) {
      if (m[2] === partition) holds = m[1] === 'acquired';
    }
    if (holds) return host;
  }
  throw new Error(`no host holds ${partition}`);
}

async function expireStoredToken(connectionId: string): Promise<void> {
  const table = TableClient.fromConnectionString(world.azurite.connectionString, 'BrokerConnections', { allowInsecureConnection: true });
  for await (const entity of table.listEntities<{ rowKey: string }>({ queryOptions: { filter: `RowKey eq '${connectionId}'` } })) {
    await table.updateEntity({ partitionKey: entity.partitionKey as string, rowKey: connectionId, expiresAt: new Date(Date.now() - 1_000).toISOString() }, 'Merge');
  }
}

test('100 concurrent token reads of an expired token, split across both hosts, cause exactly one refresh and all get the same new token', async () => {
  const connectionId = await connect(world, 'oidcpost');
  const terminated = await post(`/api/ops/connections/${connectionId}/terminate`, OPERATOR_KEY);
  expect(terminated.status).toBe(202);
  await expireStoredToken(connectionId);
  const before = refreshesOf(await world.oidc.tokenLog(), 'broker-post');

  const answers = await Promise.all(Array.from({ length: 100 }, () => get(`/api/connections/${connectionId}/token`)));

  expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
  expect(new Set(answers.map((a) => a.json.accessToken)).size).toBe(1);
  const fresh = refreshesOf(await world.oidc.tokenLog(), 'broker-post').slice(before.length);
  expect(fresh.map((e) => e.outcome)).toEqual(['ok']);
});

test('SIGKILL of the host running a refresh: the survivor finishes it, no credentials are lost and no rotated token is presented twice', async () => {
  const connectionId = await connect(world, 'oidc');
  const instanceId = await instanceIdOf(connectionId);
  const before = (await world.oidc.tokenLog()).length;
  const tokenBefore = (await get(`/api/connections/${connectionId}/token`)).json.accessToken as string;

  await world.oidc.setFault({ token: { delayMs: 3_000 } });
  void post(`/api/connections/${connectionId}/refresh`).catch(() => undefined);
  // The refresh request is at the provider (its delay fault taken): kill the host that sent it.
  await eventually(async () => ((await world.oidc.faults()).token?.times === 0 ? true : undefined), 20_000, 50);
  const owner = ownerOf(instanceId);
  await owner.kill('SIGKILL');

  await eventually(
    async () => {
      const token = await get(`/api/connections/${connectionId}/token`);
      return token.status === 200 && token.json.accessToken !== tokenBefore ? true : undefined;
    },
    90_000,
    500,
  );
  const log = (await world.oidc.tokenLog()).slice(before);
  const refreshes = refreshesOf(log, 'broker');
  expect(refreshes.filter((e) => e.outcome === 'ok')).toHaveLength(1);
  expect(refreshes.filter((e) => e.outcome !== 'ok' && e.outcome !== 'fault:abandoned-by-client')).toEqual([]);
  expect(await connectionStatus(world, connectionId)).toBe('connected');
  await owner.restart();
});

test('a reauthorize raised during a refresh is not lost: after consent the connection is connected again', async () => {
  const connectionId = await connect(world, 'oidc');
  await world.oidc.setFault({ token: { delayMs: 3_000 } });
  const refreshing = post(`/api/connections/${connectionId}/refresh`);
  await eventually(async () => ((await connectionStatus(world, connectionId)) === 'refreshing' ? true : undefined));
  const reauthorized = await post(`/api/connections/${connectionId}/reauthorize`);
  expect(reauthorized.status).toBe(200);
  await refreshing;
  const callback = await consent(world, reauthorized.json.authorizationUrl);
  expect((await world.broker.request('GET', callback)).status).toBe(200);
  await waitForStatus(world, connectionId, 'connected');
});

test('a forged OAuth 1.0a verifier, then the real one: connected', async () => {
  const started = await startConnection(world, { provider: 'legacy' });
  const genuine = await consent(world, started.authorizationUrl);
  const forged = new URL(genuine, world.broker.url);
  forged.searchParams.set('oauth_verifier', 'forged-verifier-123');
  expect((await world.broker.request('GET', `${forged.pathname}${forged.search}`)).status).toBe(400);
  expect((await world.broker.request('GET', genuine)).status).toBe(200);
  await waitForStatus(world, started.connectionId, 'connected');
});

test('watchdog: 10 % of 200 connected orchestrations terminated at random are all refreshing again within one sweep period plus a refresh margin', async () => {
  const ids: string[] = [];
  for (let batch = 0; batch < 20; batch++) {
    ids.push(...(await Promise.all(Array.from({ length: 10 }, () => connect(world, 'oidc')))));
  }
  const victims = [...ids].sort(() => Math.random() - 0.5).slice(0, 20);
  const terminatedAt = Date.now();
  for (const id of victims) expect((await post(`/api/ops/connections/${id}/terminate`, OPERATOR_KEY)).status).toBe(202);

  await eventually(
    async () => {
      const views = await Promise.all(victims.map((id) => get(`/api/connections/${id}`)));
      return views.every((v) => v.json.lastRefreshedAt !== null && Date.parse(v.json.lastRefreshedAt) >= terminatedAt) ? true : undefined;
    },
    SWEEP_PERIOD_MS + REFRESH_MARGIN_MS,
    500,
  );
  for (const id of victims) {
    const ops = await get(`/api/ops/connections/${id}`, OPERATOR_KEY);
    expect(ops.json.orchestration.runtimeStatus).toMatch(/^(Running|Pending)$/);
  }
  // The sweeps' own counts, for the record (docs and the issue note quote them).
  const sweeps = [...world.broker.logs().matchAll(/watchdog sweep (\{.*?\})/g)].map((m) => JSON.parse(m[1]));
  expect(sweeps.reduce((sum, s) => sum + s.restarted, 0)).toBeGreaterThanOrEqual(victims.length);
  const artifacts = path.join(REPO_ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(path.join(artifacts, 'watchdog-sweeps.json'), JSON.stringify({ terminated: victims.length, connections: ids.length, recoveredWithinMs: Date.now() - terminatedAt, sweeps }, null, 2));
});
