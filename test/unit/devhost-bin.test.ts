import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

test('after npm ci, node_modules/.bin/devhost runs the local host (the contract names that path)', () => {
  const bin = path.join(root, 'node_modules/.bin/devhost');
  expect(fs.realpathSync(bin)).toBe(path.join(root, 'devhost/bin/devhost.js'));
  fs.accessSync(bin, fs.constants.X_OK);
  // Asking for usage exits non-zero with the usage line; it proves the file runs as a command.
  let output = '';
  try {
    output = execFileSync(bin, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
  expect(output).toMatch(/usage: devhost --app <dir>/);
});
