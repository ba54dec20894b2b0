#!/usr/bin/env node
// `npm run build`: compile into an emptied output folder, so a renamed or deleted function file does
// not leave its old compiled copy behind (the host registers every dist/src/functions/*.js), then
// copy the static files the compiled modules read next to them. `--out-dir <dir>` builds elsewhere.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
/** Folders of non-TypeScript files that ship with the code, relative to the repository root. */
const STATIC_FOLDERS = ['src/pages/assets'];

const flag = process.argv.indexOf('--out-dir');
const outDir = path.resolve(root, flag >= 0 ? process.argv[flag + 1] ?? '' : 'dist');
if (outDir === root || root.startsWith(outDir + path.sep)) throw new Error(`Refusing to empty ${outDir}`);

fs.rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', outDir], { stdio: 'inherit' });
for (const folder of STATIC_FOLDERS) {
  fs.cpSync(path.join(root, folder), path.join(outDir, folder), { recursive: true });
}
