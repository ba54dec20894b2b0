/**
 * Settings that cannot be unsafe in production, end to end: the broker on the local host against a
 * real Azurite serving an account of its own (not the emulator's), which the broker must treat as
 * real storage. Each unsafe setting stops the app from starting with an error naming the setting;
 * the same settings made safe start it. (Every other end-to-end test runs on the emulator account
 * with short keys: local development storage, where all of this stays allowed.)
 */
import { randomBytes } from 'node:crypto';
import { AzuriteInstance, startAzurite } from '../support/azurite';
import { BrokerHost, startBrokerHost } from './support/broker-host';

jest.setTimeout(120_000);

const CLIENT_KEY = 'app1-key-0123456789abcdef0123456789abcdef';
const OPERATOR_KEY = 'operator-key-0123456789abcdef0123456789';

let azurite: AzuriteInstance;
const hosts: BrokerHost[] = [];

beforeAll(async () => {
  azurite = await startAzurite({ account: { name: 'brokerprod', key: randomBytes(64).toString('base64') } });
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
  await azurite?.stop();
});

const safeSettings = (): Record<string, string> => ({
  BROKER_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY}`,
  BROKER_OPERATOR_KEY: OPERATOR_KEY,
  BROKER_ALLOWED_RETURN_URLS: 'https://app.example/done,http://127.0.0.1:9/done',
});

async function start(override: Record<string, string>): Promise<BrokerHost> {
  const host = await startBrokerHost({ storage: azurite.connectionString, settings: { ...safeSettings(), ...override } });
  hosts.push(host);
  return host;
}

test('with safe settings the broker starts on real (non-emulator) storage and serves clients', async () => {
  const host = await start({});
  expect((await host.request('GET', '/api/providers', { key: CLIENT_KEY })).status).toBe(200);
  expect((await host.request('GET', '/api/ops/connections', { key: OPERATOR_KEY })).status).toBe(200);
});

test.each([
  ['a plain-http base URL', { BROKER_BASE_URL: 'http://broker.example' }, 'BROKER_BASE_URL'],
  ['a plain-http return URL', { BROKER_ALLOWED_RETURN_URLS: 'https://app.example/done,http://app.example/insecure' }, 'BROKER_ALLOWED_RETURN_URLS'],
  ['a client key shorter than 32 characters', { BROKER_CLIENT_KEYS: 'app1:app1-key-0123456789' }, 'BROKER_CLIENT_KEYS'],
  ['an operator key shorter than 32 characters', { BROKER_OPERATOR_KEY: 'operator-key-0123456789' }, 'BROKER_OPERATOR_KEY'],
  ['the sample client key', { BROKER_CLIENT_KEYS: 'demo:demo-client-key-change-me' }, 'BROKER_CLIENT_KEYS'],
  ['the sample operator key', { BROKER_OPERATOR_KEY: 'operator-key-change-me' }, 'BROKER_OPERATOR_KEY'],
  ['an operator key equal to a client key', { BROKER_OPERATOR_KEY: CLIENT_KEY }, 'BROKER_OPERATOR_KEY'],
])('with %s the broker refuses to start, naming the setting', async (_name, override, setting) => {
  await expect(start(override)).rejects.toThrow(new RegExp(`devhost exited[\\s\\S]*${setting}[\\s\\S]*refused outside local development storage`));
});
