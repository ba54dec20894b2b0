/**
 * The durable store's row layout against a real Azurite: history tail in the instance row, history rows
 * holding runs of events, rows of the earlier one-event layout, and insert-only instance creation.
 */
import { TableClient } from '@azure/data-tables';
import { DurableStore, historyRowKey, type InstanceRecord } from '../../devhost/src/storage/durable-store';
import { startAzurite, type TestAzurite } from './support';

const HUB = 'StoreTest';
let azurite: TestAzurite;
let store: DurableStore;
let table: TableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  store = new DurableStore(azurite.connectionString, HUB);
  await store.init();
  table = TableClient.fromConnectionString(azurite.connectionString, `${HUB}DevHost`, { allowInsecureConnection: true });
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

function record(instanceId: string, fields: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    instanceId,
    name: 'Orchestration',
    status: 'Running',
    input: null,
    output: null,
    customStatus: null,
    createdTime: 1_700_000_000_000,
    lastUpdatedTime: 1_700_000_000_000,
    generation: 0,
    historyLength: 0,
    historyRows: 0,
    historyTail: null,
    parentInstanceId: null,
    engine: '{}',
    ...fields,
  };
}

const events = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => ({ EventType: 4, EventId: from + i, Note: 'n'.repeat(50) }));

test('history kept partly in history rows and partly in the instance row reads back in order', async () => {
  await store.commit({
    instance: record('split', { historyLength: 3, historyRows: 3 }),
    historyRow: { generation: 0, startIndex: 0, eventsJson: JSON.stringify(events(0, 3)) },
  });
  await store.commit({
    instance: record('split', { historyLength: 7, historyRows: 5, historyTail: JSON.stringify(events(5, 7)) }),
    historyRow: { generation: 0, startIndex: 3, eventsJson: JSON.stringify(events(3, 5)) },
  });
  const r = (await store.readInstance('split'))!;
  expect([r.historyLength, r.historyRows]).toEqual([7, 5]);
  const history = (await store.readHistory('split', r.generation, r.historyRows, r.historyTail)) as { EventId: number }[];
  expect(history.map((e) => e.EventId)).toEqual([0, 1, 2, 3, 4, 5, 6]);
});

test('a history row past the recorded length (a torn write) is ignored', async () => {
  await store.commit({
    instance: record('torn', { historyLength: 2, historyRows: 2 }),
    historyRow: { generation: 0, startIndex: 0, eventsJson: JSON.stringify(events(0, 2)) },
  });
  await table.upsertEntity({ partitionKey: 'torn', rowKey: historyRowKey(0, 2), Es: JSON.stringify(events(2, 4)) });
  const r = (await store.readInstance('torn'))!;
  const history = (await store.readHistory('torn', r.generation, r.historyRows, r.historyTail)) as { EventId: number }[];
  expect(history.map((e) => e.EventId)).toEqual([0, 1]);
});

test('rows of the earlier layout (one event per history row, no tail) are read', async () => {
  await table.upsertEntity({ partitionKey: 'earlier', rowKey: 'i', Name: 'Orchestration', RuntimeStatus: 'Running', CreatedTime: 1, LastUpdatedTime: 1, Generation: 1, HistoryLength: 3, Engine: '{}' });
  for (const e of events(0, 3)) await table.upsertEntity({ partitionKey: 'earlier', rowKey: historyRowKey(1, e.EventId), E: JSON.stringify(e) });
  const r = (await store.readInstance('earlier'))!;
  expect([r.historyLength, r.historyRows, r.historyTail]).toEqual([3, 3, null]);
  const history = (await store.readHistory('earlier', r.generation, r.historyRows, r.historyTail)) as { EventId: number }[];
  expect(history.map((e) => e.EventId)).toEqual([0, 1, 2]);
});

test('createInstance writes a new id once and refuses it afterwards, also when the row has spill rows', async () => {
  expect(await store.createInstance(record('once'))).toBe(true);
  expect(await store.createInstance(record('once', { name: 'Other' }))).toBe(false);
  expect((await store.readInstance('once'))!.name).toBe('Orchestration');

  const big = JSON.stringify('x'.repeat(100_000));
  expect(await store.createInstance(record('once-big', { input: big }))).toBe(true);
  expect(await store.createInstance(record('once-big', { input: '1' }))).toBe(false);
  expect((await store.readInstance('once-big'))!.input).toBe(big);
});

test('a commit with If-Match writes over the row it read, and is refused (412) once another writer changed the row', async () => {
  const mine = record('fenced');
  expect(await store.createInstance(mine)).toBe(true);
  const created = mine.etag;
  expect(created).toEqual((await store.readInstance('fenced'))!.etag);

  await store.commit({ instance: mine, ifMatch: created });
  expect(mine.etag).not.toBe(created);
  expect(mine.etag).toEqual((await store.readInstance('fenced'))!.etag);

  // Another host writes the row (a replacing start): a commit made with the old ETag is refused.
  await store.writeInstance(record('fenced', { status: 'Pending', generation: 1 }));
  await expect(store.commit({ instance: { ...mine, status: 'Completed' }, ifMatch: mine.etag })).rejects.toMatchObject({ statusCode: 412 });
  expect((await store.readInstance('fenced'))!.status).toBe('Pending');
});
