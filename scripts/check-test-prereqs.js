#!/usr/bin/env node
// The tests drive real peers that npm cannot install: Debian's python3-oauthlib (OAuth 1.0a provider)
// and Debian's chromium (browser tests). Install them when we can (root with apt), else say exactly
// what to do. Either way it says what it found and which apt commands it runs, before running them.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

const PACKAGES = ['chromium', 'python3-oauthlib'];

function missingPackages() {
  const missing = [];
  if (!fs.existsSync('/usr/bin/chromium')) missing.push('chromium');
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import oauthlib'], { stdio: 'ignore' });
  if (probe.status !== 0) missing.push('python3-oauthlib');
  return missing;
}

/**
 * What to do about the missing packages: the apt commands to run (as root with apt-get) or the
 * instruction to print, and the note that announces it.
 */
function installPlan(missing, { isRoot, hasApt }) {
  if (missing.length === 0) return { note: `Test prerequisites: ${PACKAGES.join(', ')} present; no apt install needed.`, commands: [] };
  if (isRoot && hasApt) {
    const commands = [
      ['apt-get', ['update', '-qq']],
      ['apt-get', ['install', '-y', '-qq', ...missing]],
    ];
    const shown = commands.map(([command, args]) => [command, ...args].join(' ')).join(' && ');
    return { note: `Test prerequisites: installing the missing Debian packages ${missing.join(' ')} (this takes a minute or two): ${shown}`, commands };
  }
  return {
    error: `The tests need these Debian packages, which are not installed: ${missing.join(' ')}\nInstall them with:  sudo apt-get install -y ${missing.join(' ')}`,
    commands: [],
  };
}

function main() {
  const plan = installPlan(missingPackages(), {
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    hasApt: fs.existsSync('/usr/bin/apt-get'),
  });
  if (plan.error) {
    console.error(plan.error);
    return 1;
  }
  console.log(plan.note);
  const started = Date.now();
  for (const [command, args] of plan.commands) {
    execFileSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (plan.commands.length > 0) console.log(`Test prerequisites installed in ${Math.round((Date.now() - started) / 1000)} s.`);
  return 0;
}

module.exports = { installPlan };
if (require.main === module) process.exit(main());
