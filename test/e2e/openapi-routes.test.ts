/**
 * The OpenAPI document and the app agree: the compiled function modules are loaded in a child Node
 * process behind the local host's own `@azure/functions-core` (devhost/src/core-api.ts), and every
 * registered HTTP route and method must be in the document, and every documented one registered.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';
import { REPO_ROOT } from './support/broker-host';

const LIST_ROUTES = `
const path = require('node:path');
const fg = require('fast-glob');
const { installCoreApi } = require(path.resolve('dist/devhost/src/core-api.js'));
const registry = installCoreApi();
for (const file of fg.sync(require(path.resolve('package.json')).main, { absolute: true })) require(file);
const routes = [];
for (const fn of registry.functions.values()) {
  if (fn.triggerType !== 'httpTrigger') continue;
  const trigger = fn.bindings[fn.triggerBindingName];
  routes.push({ name: fn.name, route: trigger.route || fn.name, methods: trigger.methods || [] });
}
process.stdout.write(JSON.stringify(routes));
`;

/** `connections/{id}/proxy/{*path}` → `/connections/{id}/proxy/{path}` (OpenAPI has no catch-all syntax). */
function toOpenApiPath(route: string): string {
  return `/${route.replace(/^\/+/, '').replace(/\{\*{1,2}([A-Za-z_][A-Za-z0-9_]*)\}/g, '{$1}').replace(/\{([A-Za-z_][A-Za-z0-9_]*)(:[^}?]*)?\??\}/g, '{$1}')}`;
}

function registeredOperations(): string[] {
  if (!existsSync(path.join(REPO_ROOT, 'dist/src/functions'))) throw new Error('dist/ is missing: run `npm run build` first');
  const run = spawnSync(process.execPath, ['-e', LIST_ROUTES], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`loading the app failed: ${run.stderr}`);
  const routes = JSON.parse(run.stdout) as Array<{ name: string; route: string; methods: string[] }>;
  for (const r of routes) {
    if (r.methods.length === 0) throw new Error(`function ${r.name} accepts every method; list them so the document can describe them`);
  }
  return routes.flatMap((r) => r.methods.map((m) => `${m.toUpperCase()} ${toOpenApiPath(r.route)}`)).sort();
}

function documentedOperations(): string[] {
  const paths = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths)
    .flatMap(([route, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${route}`))
    .sort();
}

test('the route normalisation turns catch-all and constrained parameters into OpenAPI parameters', () => {
  expect(toOpenApiPath('connections/{id}/proxy/{*path}')).toBe('/connections/{id}/proxy/{path}');
  expect(toOpenApiPath('items/{n:int}/{rest?}')).toBe('/items/{n}/{rest}');
});

test('every registered route and method is documented, and every documented one is registered', () => {
  const registered = registeredOperations();
  const documented = documentedOperations();
  expect(registered.length).toBeGreaterThan(20);
  expect(registered.filter((op) => !documented.includes(op))).toEqual([]);
  expect(documented.filter((op) => !registered.includes(op))).toEqual([]);
});
