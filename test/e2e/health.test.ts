/**
 * GET /api/health is anonymous, so anyone can send it as fast as they like: a flood of checks must
 * not become a flood of storage requests. The broker's table traffic goes through a counting
 * forwarder in front of Azurite, which sees each round trip the checks cost.
 */
import { HEALTH_FRESH_MS } from '../../src/services/health';
import { AzuriteInstance, startAzurite } from '../support/azurite';
import { CountingProxy, startCountingProxy } from '../support/counting-proxy';
import { BrokerHost, startBrokerHost } from './support/broker-host';
import { CLIENT_KEY, OPERATOR_KEY } from './support/world';

jest.setTimeout(120_000);

let azurite: AzuriteInstance;
let tables: CountingProxy;
let broker: BrokerHost;

beforeAll(async () => {
  azurite = await startAzurite();
  tables = await startCountingProxy(azurite.ports.table);
  broker = await startBrokerHost({ storage: azurite.connectionStringVia({ table: tables.port }), settings: { BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY}`, BROKER_OPERATOR_KEY: OPERATOR_KEY } });
});
afterAll(async () => {
  await broker?.stop();
  await tables?.stop();
  await azurite?.stop();
});

/** Health checks list one table; nothing else the broker does lists tables. */
const tableListings = () => tables.counts().byTarget['GET Tables'] ?? 0;

test('when health checks flood in, then each answers ok and storage sees at most one round trip per second of them', async () => {
  const before = tableListings();
  const startedMs = Date.now();
  const answers = await Promise.all(Array.from({ length: 40 }, () => broker.request('GET', '/api/health')));
  for (let i = 0; i < 40; i += 1) answers.push(await broker.request('GET', '/api/health'));
  const elapsedMs = Date.now() - startedMs;

  expect(answers.map((a) => [a.status, a.json])).toEqual(Array(80).fill([200, { status: 'ok' }]));
  // One round trip may be running when the checks begin and one starts per interval after it.
  expect(tableListings() - before).toBeLessThanOrEqual(Math.ceil(elapsedMs / HEALTH_FRESH_MS) + 1);
});
