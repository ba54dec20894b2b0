#!/usr/bin/env node
// azd prepackage hook (azure.yaml): assembles the deployment package in `.deploy/` after azd has run
// `npm install` and `npm run build` here. The package is the project's files that `.funcignore`
// keeps (gitignore syntax), never the local node_modules, plus production dependencies installed
// from package-lock.json with `npm ci --omit=dev`. azd then zips `.deploy/` as it is
// (`dist: .deploy`, `remoteBuild: false`): nothing is compiled or installed on the platform.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const STAGE_DIR_NAME = '.deploy';
// Never copied: rebuilt with production dependencies only, or the stage itself.
const ALWAYS_LEFT_OUT = new Set(['node_modules', STAGE_DIR_NAME, '.git']);
// Written into the stage so azd applies no default exclusions of its own to it (azd reads the
// ignore file of the service's host kind, .funcignore, and newer versions also .zipignore).
const STAGE_IGNORE_FILES = ['.funcignore', '.zipignore'];

/** One gitignore pattern as a regular expression over a '/'-separated path relative to the root. */
function patternToRegExp(pattern, anchored) {
  let body = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      const slashAfter = pattern[i + 2] === '/';
      body += slashAfter ? '(?:.*/)?' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (c === '*') body += '[^/]*';
    else if (c === '?') body += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) body += `\\${pattern[(i += 1)]}`;
    else body += /[.+^${}()|[\]]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`);
}

/** Parses ignore-file text into rules; the last rule matching a path decides. */
function parseIgnoreFile(text) {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(?<!\\)\s+$/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      let pattern = negate ? line.slice(1) : line;
      const dirOnly = pattern.endsWith('/');
      if (dirOnly) pattern = pattern.slice(0, -1);
      // A slash at the start or in the middle ties the pattern to the root; otherwise it matches at any depth.
      const anchored = pattern.includes('/');
      if (pattern.startsWith('/')) pattern = pattern.slice(1);
      return { negate, dirOnly, regExp: patternToRegExp(pattern, anchored) };
    });
}

function isIgnored(rules, relativePath, isDirectory) {
  let ignored = false;
  for (const rule of rules) {
    if (rule.dirOnly && !isDirectory) continue;
    if (rule.regExp.test(relativePath)) ignored = !rule.negate;
  }
  return ignored;
}

/**
 * The files of `root` that `.funcignore` keeps, '/'-separated and sorted. As in git, a file inside
 * an ignored folder stays out even if a later `!` pattern names it.
 */
function keptFiles(root = ROOT) {
  const rulesFile = path.join(root, '.funcignore');
  const rules = fs.existsSync(rulesFile) ? parseIgnoreFile(fs.readFileSync(rulesFile, 'utf8')) : [];
  const kept = [];
  const walk = (relativeDir) => {
    for (const entry of fs.readdirSync(path.join(root, relativeDir), { withFileTypes: true })) {
      const relativePath = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      if (ALWAYS_LEFT_OUT.has(relativePath)) continue;
      const isDirectory = entry.isDirectory();
      if (isIgnored(rules, relativePath, isDirectory)) continue;
      if (isDirectory) walk(relativePath);
      else if (entry.isFile()) kept.push(relativePath);
    }
  };
  walk('');
  return kept.sort();
}

/**
 * Builds the package folder: kept files, then `npm ci --omit=dev` inside it (package.json's
 * `prepare` runs there too and must cope with the development files being absent).
 */
function stagePackage({ root = ROOT, outDir = path.join(ROOT, STAGE_DIR_NAME), npmArgs = [] } = {}) {
  if (!fs.existsSync(path.join(root, 'dist'))) throw new Error('dist/ is missing: run `npm run build` first');
  fs.rmSync(outDir, { recursive: true, force: true });
  for (const file of keptFiles(root)) {
    fs.mkdirSync(path.dirname(path.join(outDir, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(outDir, file));
  }
  for (const name of STAGE_IGNORE_FILES) {
    fs.writeFileSync(path.join(outDir, name), '# Staged by infra/hooks/stage-package.js: ship everything here.\n');
  }
  const npm = process.env.npm_execpath;
  const [command, prefix] = npm && npm.endsWith('.js') ? [process.execPath, [npm]] : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []];
  execFileSync(command, [...prefix, 'ci', '--omit=dev', '--no-audit', '--no-fund', ...npmArgs], {
    cwd: outDir,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32' && command.endsWith('.cmd'),
  });
  return outDir;
}

if (require.main === module) {
  try {
    const outDir = stagePackage();
    console.log(`Deployment package staged in ${path.relative(ROOT, outDir)}/ (${keptFiles().length} project files + production node_modules)`);
  } catch (error) {
    console.error(`stage-package: ${error.message}`);
    process.exitCode = 1;
  }
}

module.exports = { keptFiles, parseIgnoreFile, isIgnored, stagePackage, STAGE_DIR_NAME };
