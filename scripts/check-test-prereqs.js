#!/usr/bin/env node
// The tests drive real peers that npm cannot install: Debian's python3-oauthlib (OAuth 1.0a provider)
// and Debian's chromium (browser tests). Install them when we can (root with apt), else say exactly what to do.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

function missingPackages() {
  const missing = [];
  if (!fs.existsSync('/usr/bin/chromium')) missing.push('chromium');
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import oauthlib'], { stdio: 'ignore' });
  if (probe.status !== 0) missing.push('python3-oauthlib');
  return missing;
}

const missing = missingPackages();
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && fs.existsSync('/usr/bin/apt-get')) {
  console.log(`Installing Debian packages the tests need: ${missing.join(' ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  process.exit(0);
}
console.error(
  `The tests need these Debian packages, which are not installed: ${missing.join(' ')}\n` +
    `Install them with:  sudo apt-get install -y ${missing.join(' ')}`,
);
process.exit(1);
