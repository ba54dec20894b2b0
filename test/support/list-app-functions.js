#!/usr/bin/env node
// Loads a v4 app folder as the Node worker would (the local host's loader and its stand-in for
// @azure/functions-core, from this repository's dist/) and prints, as JSON, the functions it
// registered and every process warning emitted meanwhile. Usage: list-app-functions.js <appDir>
'use strict';

const path = require('node:path');
const { setImmediate } = require('node:timers');

const repoRoot = path.resolve(__dirname, '..', '..');
const warnings = [];
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));

async function main() {
  const appDir = path.resolve(process.argv[2]);
  const { installCoreApi } = require(path.join(repoRoot, 'dist/devhost/src/core-api.js'));
  const { loadApp } = require(path.join(repoRoot, 'dist/devhost/src/app-loader.js'));
  const registry = installCoreApi();
  await loadApp(appDir, registry);
  // Let warnings emitted on the next tick arrive.
  await new Promise((resolve) => setImmediate(resolve));
  const functions = [...registry.functions.values()].map((f) => ({ name: f.name, trigger: f.triggerType })).sort((a, b) => a.name.localeCompare(b.name));
  // Where each @azure/functions copy came from: the app's own node_modules, not this repository's.
  const modelPackage = require.resolve('@azure/functions/package.json', { paths: [appDir] });
  // The app may keep handles open (clients, timers); the listing is all this process is for.
  process.stdout.write(JSON.stringify({ functions, warnings, modelPackage }), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
