import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionStringIsLocal as isLocalStorage } from '../../../src/config/storage-setting';
import { loadOrCreateLocalKey } from '../../../src/secrets/local-key';

test('when no key file exists, then a 32-byte key is created (mode 0600) and the same key is read back later', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'key-')), '.devhost', 'broker-encryption-key');
  const first = loadOrCreateLocalKey(file);
  expect(first).toHaveLength(32);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(loadOrCreateLocalKey(file).equals(first)).toBe(true);
});

test('when the key file is corrupt, then it is refused rather than replaced', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'key-')), 'broker-encryption-key');
  fs.writeFileSync(file, 'c2hvcnQ=\n');
  expect(() => loadOrCreateLocalKey(file)).toThrow(/32 bytes/);
});

test.each([
  ['UseDevelopmentStorage=true', true],
  ['DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1', true],
  ['DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net', false],
  ['DefaultEndpointsProtocol=http;AccountName=brokerprod;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/brokerprod', false],
  ['DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://10.0.0.5:10002/devstoreaccount1', false],
  ['DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;TableEndpoint=https://acct.table.core.windows.net', false],
])('isLocalStorage(%s) is %s (a generated key is only ever for local storage)', (connectionString, expected) => {
  expect(isLocalStorage(connectionString)).toBe(expected);
});
