#!/usr/bin/env node
'use strict';
// Entry point of the local Functions host; the TypeScript sources are compiled by `npm run build`.
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', '..', 'dist', 'devhost', 'src', 'cli.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write(`devhost: ${compiled} is missing; run "npm run build" first\n`);
  process.exit(1);
}
require(compiled).main(process.argv.slice(2));
