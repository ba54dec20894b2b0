/**
 * Many client apps on one broker, through the HTTP API on the local host with real Azurite and a
 * real oidc-provider: connection ids are unique per client (not global), one client's rows are
 * spread over several partitions yet list and look up in pages, connections created before either
 * change keep working, and pending authorization rows give up their secrets once settled.
 */
import { TableClient } from '@azure/data-tables';
import { createKeyring, envelopeKeyId, openJson, sealJson } from '../../src/crypto';
import { connectionInstanceId } from '../../src/domain/connection';
import { authorizationIdForState } from '../../src/services/begin-authorization';
import { spreadPartitionKey } from '../../src/storage/connection-keys';
import { eventually } from './support/broker-host';
import { CLIENT_KEY, consent, OPERATOR_KEY, OTHER_CLIENT_KEY, startConnection, startWorld, World } from './support/world';

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

const request = (method: string, route: string, key: string = CLIENT_KEY) => world.broker.request(method, route, { key });
const ops = (method: string, route: string) => world.broker.request(method, route, { key: OPERATOR_KEY });

function table(name: 'BrokerConnections' | 'BrokerAuthorizations'): TableClient {
  return TableClient.fromConnectionString(world.azurite.connectionString, name, { allowInsecureConnection: true });
}

async function statusOf(connectionId: string, key: string): Promise<string | undefined> {
  return (await request('GET', `/api/connections/${connectionId}`, key)).json?.status;
}

async function reaches(connectionId: string, status: string, key: string = CLIENT_KEY): Promise<void> {
  await eventually(async () => ((await statusOf(connectionId, key)) === status ? true : undefined));
}

/** Start, consent, callback; answers once the connection is connected. */
async function connectAs(key: string, body: Record<string, unknown>): Promise<{ connectionId: string; callback: string; state: string }> {
  const started = await startConnection(world, { provider: 'oidc', ...body }, key);
  const callback = await consent(world, started.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  if (answer.status !== 200 && answer.status !== 302) throw new Error(`callback answered ${answer.status} ${answer.text}`);
  await reaches(started.connectionId, 'connected', key);
  return { connectionId: started.connectionId, callback, state: new URL(started.authorizationUrl).searchParams.get('state') ?? '' };
}

async function listAll(query: string, key = CLIENT_KEY, top = 3): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let continuation: string | undefined;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    params.set('top', String(top));
    if (continuation) params.set('continuation', continuation);
    const answer = await request('GET', `/api/connections?${params}`, key);
    expect(answer.status).toBe(200);
    expect(answer.json.items.length).toBeLessThanOrEqual(top);
    ids.push(...answer.json.items.map((c: { connectionId: string }) => c.connectionId));
    continuation = answer.json.continuation;
    pages += 1;
  } while (continuation && pages < 200);
  return { ids, pages };
}

async function orchestrationOf(connectionId: string, clientId: string) {
  const answer = await ops('GET', `/api/ops/connections/${connectionId}?clientId=${clientId}`);
  expect(answer.status).toBe(200);
  return answer.json as { connection: { clientId: string; instanceId: string; status: string }; orchestration: { runtimeStatus: string } | null };
}

describe('connection ids are unique per client, not across clients', () => {
  const id = 'shared-crm-42';

  test('when a second client picks an id the first already holds, then it gets its own connection (no 409), and one client revoking leaves the other’s grant alone', async () => {
    const first = await connectAs(CLIENT_KEY, { connectionId: id });
    const second = await connectAs(OTHER_CLIENT_KEY, { connectionId: id });
    expect([first.connectionId, second.connectionId]).toEqual([id, id]);

    const tokenOf = async (key: string) => (await request('GET', `/api/connections/${id}/token`, key)).json.accessToken as string;
    const [firstToken, secondToken] = [await tokenOf(CLIENT_KEY), await tokenOf(OTHER_CLIENT_KEY)];
    expect(firstToken).not.toBe(secondToken);

    // Each client's connection has its own orchestration.
    expect((await orchestrationOf(id, 'app1')).connection.instanceId).toBe('app1.shared-crm-42');
    expect((await orchestrationOf(id, 'app2')).connection.instanceId).toBe('app2.shared-crm-42');

    expect((await request('DELETE', `/api/connections/${id}`, CLIENT_KEY)).status).toBe(204);
    await reaches(id, 'revoked', CLIENT_KEY);
    expect(await statusOf(id, OTHER_CLIENT_KEY)).toBe('connected');
    // The other client's refresh token still works at the provider: its grant was not revoked.
    const refreshed = await request('POST', `/api/connections/${id}/refresh`, OTHER_CLIENT_KEY);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.status).toBe('connected');
    expect((await request('GET', `/api/connections/${id}/token`, OTHER_CLIENT_KEY)).json.accessToken).not.toBe(secondToken);
    expect((await orchestrationOf(id, 'app2')).orchestration?.runtimeStatus).toBe('Running');
  });

  test('when the same client picks an id it already holds, then 409 CONNECTION_EXISTS and its connection is untouched', async () => {
    const again = await world.broker.request('POST', '/api/connections', { key: OTHER_CLIENT_KEY, body: { provider: 'oidc', connectionId: id } });
    expect({ status: again.status, code: again.json.error.code }).toEqual({ status: 409, code: 'CONNECTION_EXISTS' });
    expect(await statusOf(id, OTHER_CLIENT_KEY)).toBe('connected');
  });

  test('when two clients hold the id, then operator routes ask for ?clientId= and act only on that client’s orchestration', async () => {
    const ambiguous = await ops('GET', `/api/ops/connections/${id}`);
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.json.error).toMatchObject({ code: 'INVALID_REQUEST', field: 'clientId' });
    expect([...ambiguous.json.error.clientIds].sort()).toEqual(['app1', 'app2']);
    for (const [method, route] of [['POST', 'terminate'], ['DELETE', 'history'], ['POST', 'refresh']]) {
      expect((await ops(method, `/api/ops/connections/${id}/${route}`)).status).toBe(400);
    }
    expect((await ops('GET', `/api/ops/connections/${id}?clientId=app3`)).status).toBe(404);
    expect((await ops('GET', `/api/ops/connections/${id}?clientId=app1&clientId=app2`)).status).toBe(400);

    const terminated = await ops('POST', `/api/ops/connections/${id}/terminate?clientId=app2`);
    expect(terminated.status).toBe(202);
    expect(terminated.json).toMatchObject({ connectionId: id, clientId: 'app2', terminated: true });
    await eventually(async () => ((await orchestrationOf(id, 'app2')).orchestration?.runtimeStatus === 'Terminated' ? true : undefined));
    // app1's (revoked, finished) orchestration is still there to purge; app2's row is untouched.
    const purged = await ops('DELETE', `/api/ops/connections/${id}/history?clientId=app1`);
    expect(purged.json).toMatchObject({ connectionId: id, clientId: 'app1', instancesDeleted: 1 });
    expect((await orchestrationOf(id, 'app2')).orchestration?.runtimeStatus).toBe('Terminated');
    expect((await orchestrationOf(id, 'app1')).orchestration).toBeNull();
  });
});

describe('connections created before ids were namespaced and rows spread', () => {
  /**
   * Turns a fresh connection into one the previous version wrote: the row in the legacy partition
   * (PartitionKey = client id) with its credentials bound to the connection id alone, and its
   * maintain loop running under instance id = connection id.
   */
  async function makeLegacy(connectionId: string): Promise<void> {
    const durable = `${world.broker.url}/runtime/webhooks/durabletask`;
    const namespaced = connectionInstanceId('app1', connectionId);
    expect((await fetch(`${durable}/instances/${namespaced}/terminate?reason=downgrade`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => {
      const status = (await (await fetch(`${durable}/instances/${namespaced}`)).json()) as { runtimeStatus: string };
      return status.runtimeStatus === 'Terminated' ? true : undefined;
    });
    await fetch(`${durable}/instances/${namespaced}`, { method: 'DELETE' });

    const connections = table('BrokerConnections');
    const row = await connections.getEntity<Record<string, unknown>>(spreadPartitionKey('app1', connectionId), connectionId);
    const sealed = row.credentials as string;
    const key = { keyId: envelopeKeyId(sealed), key: Buffer.from(world.encryptionKey, 'base64') };
    const credentials = openJson<unknown>(sealed, createKeyring(key), namespaced);
    const { etag: _etag, timestamp: _timestamp, partitionKey: _pk, ...rest } = row;
    await connections.createEntity({ ...rest, partitionKey: 'app1', rowKey: connectionId, credentials: sealJson(credentials, key, connectionId) });
    await connections.deleteEntity(spreadPartitionKey('app1', connectionId), connectionId);

    const input = {
      phase: 'maintain',
      connectionId,
      clientId: 'app1',
      provider: 'oidc',
      protocol: 'oauth2',
      credentialsVersion: row.credentialsVersion,
      issuedAt: row.issuedAt,
      expiresAt: row.expiresAt,
      failures: 0,
      cycle: 0,
    };
    const started = await fetch(`${durable}/orchestrators/connectionOrchestrator/${connectionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    expect(started.status).toBe(202);
  }

  test('a legacy connection is read, listed, refreshed through its own orchestration, shown to operators and revoked', async () => {
    const { connectionId } = await connectAs(CLIENT_KEY, { connectionId: 'made-before' });
    const tokenBefore = (await request('GET', `/api/connections/${connectionId}/token`)).json.accessToken;
    await makeLegacy(connectionId);
    expect(await table('BrokerConnections').getEntity('app1', connectionId)).toMatchObject({ partitionKey: 'app1' });

    expect(await statusOf(connectionId, CLIENT_KEY)).toBe('connected');
    expect((await request('GET', `/api/connections/${connectionId}/token`)).json.accessToken).toBe(tokenBefore);
    expect((await listAll('')).ids.filter((id) => id === connectionId)).toEqual([connectionId]);

    const view = await orchestrationOf(connectionId, 'app1');
    expect(view.connection.instanceId).toBe(connectionId);
    expect(view.orchestration?.runtimeStatus).toBe('Running');

    const refreshed = await request('POST', `/api/connections/${connectionId}/refresh`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.lastRefreshedAt).toEqual(expect.any(String));
    expect((await request('GET', `/api/connections/${connectionId}/token`)).json.accessToken).not.toBe(tokenBefore);

    // Another client may now take the same id: its orchestration is app2.made-before, not the legacy one.
    await startConnection(world, { provider: 'oidc', connectionId }, OTHER_CLIENT_KEY);
    expect(await statusOf(connectionId, OTHER_CLIENT_KEY)).toBe('awaiting_callback');

    expect((await request('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
    await reaches(connectionId, 'revoked');
    await eventually(async () => ((await orchestrationOf(connectionId, 'app1')).orchestration?.runtimeStatus === 'Completed' ? true : undefined));
    expect(await statusOf(connectionId, OTHER_CLIENT_KEY)).toBe('awaiting_callback');
  });
});

describe('one client’s rows are spread over partitions', () => {
  const COUNT = 24;

  test('rows of one client land in several partitions (none in one per-client partition), and the list pages through all of them, filters included', async () => {
    for (let i = 0; i < COUNT; i++) {
      await startConnection(world, { provider: 'oidc', connectionId: `bulk-${i}`, endUserId: i % 2 === 0 ? 'even' : 'odd' });
    }
    await startConnection(world, { provider: 'oidc', connectionId: 'bulk-foreign', endUserId: 'even' }, OTHER_CLIENT_KEY);

    const partitions = new Set<string>();
    for await (const row of table('BrokerConnections').listEntities({ queryOptions: { filter: "RowKey ge 'bulk-' and RowKey lt 'bulk.'" } })) {
      if (row.rowKey !== 'bulk-foreign') partitions.add(row.partitionKey ?? '');
    }
    expect(partitions.size).toBeGreaterThanOrEqual(4);
    expect(partitions.has('app1')).toBe(false);
    for (const partition of partitions) expect(partition).toMatch(/^app1~[0-9a-f]{2}$/);

    const everything = await listAll('');
    expect(new Set(everything.ids).size).toBe(everything.ids.length);
    const bulk = everything.ids.filter((id) => id.startsWith('bulk-')).sort();
    expect(bulk).toEqual(Array.from({ length: COUNT }, (_, i) => `bulk-${i}`).sort());
    expect(everything.pages).toBeGreaterThanOrEqual(Math.ceil(everything.ids.length / 3));

    const evens = await listAll('provider=oidc&status=awaiting_callback&endUserId=even', CLIENT_KEY, 4);
    expect(evens.ids.sort()).toEqual(Array.from({ length: COUNT / 2 }, (_, i) => `bulk-${i * 2}`).sort());

    for (const i of [0, 7, COUNT - 1]) expect(await statusOf(`bulk-${i}`, CLIENT_KEY)).toBe('awaiting_callback');
    expect((await listAll('endUserId=even', OTHER_CLIENT_KEY)).ids).toEqual(['bulk-foreign']);
    expect(await statusOf('bulk-foreign', CLIENT_KEY)).toBeUndefined();
  });
});

describe('pending authorization rows give up their secrets once settled', () => {
  async function attemptRow(state: string) {
    try {
      return await table('BrokerAuthorizations').getEntity<Record<string, unknown>>(authorizationIdForState(state), 'attempt');
    } catch {
      return undefined;
    }
  }

  test('after a successful exchange the row holds no verifier or code, and the same callback again gets the same answer', async () => {
    const { connectionId, callback, state } = await connectAs(CLIENT_KEY, { returnTo: 'http://127.0.0.1:9/done' });
    const row = await attemptRow(state);
    expect(row).toMatchObject({ secrets: '', callbackSecrets: '', settledAt: expect.any(String), exchangedAt: expect.any(String) });

    const again = await world.broker.request('GET', callback, { redirect: 'manual' });
    expect(again.status).toBe(302);
    const location = new URL(again.headers.get('location') ?? '');
    expect(Object.fromEntries(location.searchParams)).toEqual({ connectionId, status: 'connected' });
  });

  test('after a denial the row holds no secrets, and the denial repeated is answered the same', async () => {
    const started = await startConnection(world, { provider: 'oidc' });
    const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
    const callback = await consent(world, started.authorizationUrl, false);
    const first = await world.broker.request('GET', callback);
    await reaches(started.connectionId, 'denied');
    expect(await attemptRow(state)).toMatchObject({ secrets: '', settledAt: expect.any(String), callbackOutcome: 'denied' });
    const again = await world.broker.request('GET', callback);
    expect({ status: again.status, text: again.text }).toEqual({ status: first.status, text: first.text });
  });

  test('a reauthorization deletes the attempt it supersedes, and a revocation deletes the pending one', async () => {
    const { connectionId, state } = await connectAs(CLIENT_KEY, {});
    const second = await request('POST', `/api/connections/${connectionId}/reauthorize`);
    expect(second.status).toBe(200);
    const secondState = new URL(second.json.authorizationUrl).searchParams.get('state') ?? '';
    expect(await attemptRow(state)).toBeUndefined();
    expect((await attemptRow(secondState))?.secrets).toEqual(expect.stringMatching(/.{20,}/));

    expect((await request('DELETE', `/api/connections/${connectionId}`)).status).toBe(204);
    await reaches(connectionId, 'revoked');
    expect(await attemptRow(secondState)).toBeUndefined();
  });
});

describe('an attempt that expires', () => {
  let shortWorld: World;
  beforeAll(async () => {
    shortWorld = await startWorld({ authorizationTimeoutSeconds: 3 });
  });
  afterAll(async () => {
    await shortWorld?.stop();
  });

  test('when no callback arrives in time, then its row loses its secrets at the deadline and a late callback still hears "expired"', async () => {
    const started = await startConnection(shortWorld, { provider: 'oidc' });
    const state = new URL(started.authorizationUrl).searchParams.get('state') ?? '';
    const callback = await consent(shortWorld, started.authorizationUrl);
    await eventually(async () => {
      const view = await shortWorld.broker.request('GET', `/api/connections/${started.connectionId}`, { key: CLIENT_KEY });
      return view.json?.status === 'expired' ? true : undefined;
    }, 30_000);
    const rows = TableClient.fromConnectionString(shortWorld.azurite.connectionString, 'BrokerAuthorizations', { allowInsecureConnection: true });
    expect(await rows.getEntity(authorizationIdForState(state), 'attempt')).toMatchObject({ secrets: '', settledAt: expect.any(String) });
    const late = await shortWorld.broker.request('GET', callback);
    expect(late.status).toBe(400);
    expect(late.text).toContain('STATE_EXPIRED');
  });
});
