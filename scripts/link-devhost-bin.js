#!/usr/bin/env node
// npm links the bins of dependencies into node_modules/.bin, but not this package's own. The local
// host's contract says `node_modules/.bin/devhost` works from the project folder, so link it here
// (run by npm's `prepare` after `npm ci` / `npm install`).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const binDir = path.join(root, 'node_modules', '.bin');
const link = path.join(binDir, 'devhost');
const target = path.relative(binDir, path.join(root, 'devhost', 'bin', 'devhost.js'));

if (!fs.existsSync(path.join(root, 'node_modules'))) process.exit(0);
fs.mkdirSync(binDir, { recursive: true });
try {
  if (fs.readlinkSync(link) === target) process.exit(0);
  fs.unlinkSync(link);
} catch {
  // no link yet
}
fs.symlinkSync(target, link);
