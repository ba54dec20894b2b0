/**
 * Loads a v4 app the way the worker's startApp does: `package.json` `main` (a glob) → each file
 * required (or imported when ESM) → capabilities (which locks `app.setup`) → `appStart` hooks.
 * @see https://github.com/Azure/azure-functions-nodejs-worker/blob/v3.x/src/startApp.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import fg = require('fast-glob');
import type { CoreRegistry } from './core-api';

interface PackageJson {
  main?: string;
  type?: string;
}

// Kept out of TypeScript's reach so `import()` is not compiled into `require()`.
const dynamicImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

function readPackageJson(appDir: string): PackageJson {
  const file = path.join(appDir, 'package.json');
  if (!existsSync(file)) throw new Error(`No package.json in app folder ${appDir}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function isEsm(file: string, pkg: PackageJson): boolean {
  if (file.endsWith('.mjs')) return true;
  if (file.endsWith('.cjs')) return false;
  return pkg.type === 'module';
}

/** Resolves the entry point glob; throws naming the pattern when it matches nothing. */
export async function resolveEntryPoints(appDir: string): Promise<string[]> {
  const pkg = readPackageJson(appDir);
  const pattern = pkg.main || 'index.js';
  const files = await fg(pattern, { cwd: appDir, onlyFiles: true, absolute: true });
  if (files.length === 0) {
    throw new Error(`package.json "main" pattern "${pattern}" matched no files in ${appDir} (did you build the app?)`);
  }
  return files.sort();
}

/**
 * Loads every entry point, locks registration, runs `appStart` hooks. Resolves with the model's
 * `HttpUri` when the app enabled HTTP stream mode (`app.setup({ enableHttpStream: true })`).
 */
export async function loadApp(appDir: string, registry: CoreRegistry): Promise<string | undefined> {
  const pkg = readPackageJson(appDir);
  for (const file of await resolveEntryPoints(appDir)) {
    try {
      if (isEsm(file, pkg)) await dynamicImport(pathToFileURL(file).href);
      else require(file);
    } catch (err) {
      throw new Error(`Unable to load entry point "${path.relative(appDir, file)}": ${(err as Error).message}`);
    }
  }
  if (!registry.programmingModel) {
    throw new Error(`The app in ${appDir} registered no functions (no @azure/functions v4 app.* call was made)`);
  }
  const caps = await registry.programmingModel.getCapabilities?.({});
  registry.locked = true;
  const ctx = {
    get hookData() {
      return registry.appLevelOnlyHookData;
    },
    get appHookData() {
      return registry.appHookData;
    },
    functionAppDirectory: appDir,
  };
  for (const hook of [...registry.hooksFor('appStart')]) await hook(ctx);
  return typeof caps?.HttpUri === 'string' ? caps.HttpUri : undefined;
}

/** Runs `appTerminate` hooks. */
export async function terminateApp(registry: CoreRegistry): Promise<void> {
  const ctx = {
    get hookData() {
      return registry.appLevelOnlyHookData;
    },
    get appHookData() {
      return registry.appHookData;
    },
  };
  for (const hook of [...registry.hooksFor('appTerminate')]) await hook(ctx);
}
