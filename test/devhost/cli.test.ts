/** Command-line contract: clear start-up errors and argument handling. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../../devhost/src/cli';
import { RouteTable } from '../../devhost/src/http/route-table';
import { parseConnectionString } from '../../devhost/src/storage/connection-string';
import { BIN, ensureBuilt, removeDir } from './support';

beforeAll(() => ensureBuilt(), 120_000);

test('a package.json main glob that matches nothing stops start-up with an error naming the pattern', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devhost-empty-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ main: 'dist/nothing/*.js' }));
    const r = spawnSync(process.execPath, [BIN, '--app', dir, '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('"dist/nothing/*.js" matched no files');
  } finally {
    removeDir(dir);
  }
});

test('an unknown argument exits with usage', () => {
  const r = spawnSync(process.execPath, [BIN, '--bogus'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('usage: devhost --app <dir>');
});

test('arguments are read in both --name value and --name=value forms', () => {
  expect(parseArgs(['--app', '/x', '--port=7072', '--host', '0.0.0.0'])).toEqual({ app: '/x', port: 7072, host: '0.0.0.0' });
  expect(() => parseArgs(['--port', 'abc'])).toThrow('not a port number');
});

test('--worker-id names the host; a name with spaces or slashes is refused', () => {
  expect(parseArgs(['--worker-id', 'east-1']).workerId).toBe('east-1');
  expect(parseArgs(['--worker-id=w.2_b']).workerId).toBe('w.2_b');
  expect(() => parseArgs(['--worker-id', 'a b'])).toThrow('--worker-id "a b" must be');
  expect(() => parseArgs(['--worker-id', 'a/b'])).toThrow('--worker-id "a/b" must be');
});

test('route templates: constraints, optional and catch-all parameters, literal precedence', () => {
  const t = new RouteTable<string>();
  t.add('items/{id:int}', ['GET'], 'byId');
  t.add('items/{name}', ['GET'], 'byName');
  t.add('items/new', undefined, 'literal');
  t.add('docs/{*rest}', undefined, 'docs');
  t.add('Opt/{a}/{b?}', undefined, 'opt');
  expect(t.match('/items/12', 'GET')).toEqual({ target: 'byId', params: { id: '12' } });
  expect(t.match('/items/bob', 'GET')).toEqual({ target: 'byName', params: { name: 'bob' } });
  expect(t.match('/items/new', 'GET')?.target).toBe('literal');
  expect(t.match('/items/12', 'POST')).toBeUndefined();
  expect(t.match('/docs/a/b%20c', 'GET')).toEqual({ target: 'docs', params: { rest: 'a/b c' } });
  expect(t.match('/opt/1', 'GET')).toEqual({ target: 'opt', params: { a: '1' } });
  expect(t.match('/opt/1/2/3', 'GET')).toBeUndefined();
});

test('connection strings: development storage and explicit endpoints', () => {
  const dev = parseConnectionString('UseDevelopmentStorage=true');
  expect(dev.development).toBe(true);
  expect(dev.tableEndpoint.href).toBe('http://127.0.0.1:10002/devstoreaccount1');
  const explicit = parseConnectionString('AccountName=a;AccountKey=k;TableEndpoint=http://127.0.0.1:1234/a');
  expect(explicit).toMatchObject({ development: false, tableEndpoint: new URL('http://127.0.0.1:1234/a') });
  expect(() => parseConnectionString('nonsense')).toThrow('AzureWebJobsStorage must be');
});
