/**
 * `npm run build` into a scratch folder (`-- --out-dir`, so the shared dist/ other tests run from is
 * left alone): it starts from an empty folder, so the compiled copy of a renamed or deleted function
 * file does not stay behind for the host to register, and it ships the pages' assets next to the
 * compiled module that serves them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');
const ASSETS = path.join(ROOT, 'src/pages/assets');
let outDir: string;

beforeAll(async () => {
  outDir = mkdtempSync(path.join(os.tmpdir(), 'broker-build-'));
  mkdirSync(path.join(outDir, 'src/functions'), { recursive: true });
  writeFileSync(path.join(outDir, 'src/functions/http-renamed-long-ago.js'), "require('@azure/functions').app.http('ghost', {});\n");
  await promisify(execFile)('npm', ['run', 'build', '--', '--out-dir', outDir], { cwd: ROOT });
});

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

test('a compiled function file whose source is gone does not survive the build', () => {
  expect(existsSync(path.join(outDir, 'src/functions/http-renamed-long-ago.js'))).toBe(false);
  const compiled = readdirSync(path.join(outDir, 'src/functions')).filter((f) => f.endsWith('.js'));
  const sources = readdirSync(path.join(ROOT, 'src/functions')).filter((f) => f.endsWith('.ts'));
  expect(compiled.sort()).toEqual(sources.map((f) => f.replace(/\.ts$/, '.js')).sort());
});

test('the pages\' assets ship next to the compiled module, which serves them', () => {
  const files = readdirSync(ASSETS).sort();
  expect(readdirSync(path.join(outDir, 'src/pages/assets')).sort()).toEqual(files);
  // The compiled static-pages module needs only Node built-ins, so it loads from the scratch folder.
  const compiled = require(path.join(outDir, 'src/pages/static-pages.js'));
  for (const file of files) {
    expect(compiled.staticPageAnswer(file)().body).toBe(readFileSync(path.join(ASSETS, file), 'utf8'));
  }
});
