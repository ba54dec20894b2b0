/**
 * The OpenAPI document is valid OpenAPI 3.1 by a maintained validator
 * (@seriousme/openapi-schema-validator, ESM-only, so it runs in a child Node process).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';

const REPO_ROOT = path.resolve(__dirname, '../..');

const VALIDATE = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
let unresolved = null;
if (result.valid) {
  try { validator.resolveRefs(); } catch (error) { unresolved = String(error.message ?? error); }
}
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? null, unresolved }));
`;

function validate(document: unknown): { valid: boolean; version: string; errors: unknown; unresolved: string | null } {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', VALIDATE], { cwd: REPO_ROOT, input: JSON.stringify(document), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`validator failed to run: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

test('the document is valid OpenAPI 3.1 and every $ref resolves', () => {
  const result = validate(OPENAPI_DOCUMENT);
  expect(result.errors).toBeNull();
  expect(result).toMatchObject({ valid: true, version: '3.1', unresolved: null });
});

test('the validator refuses a document with a broken operation (so the check above can fail)', () => {
  const broken = JSON.parse(JSON.stringify(OPENAPI_DOCUMENT));
  delete broken.paths['/health'].get.responses;
  broken.paths['/health'].get.parameters = [{ name: 'x', in: 'nowhere' }];
  expect(validate(broken).valid).toBe(false);
});

test('operation ids are unique and every operation states its security (empty for anonymous routes)', () => {
  const operations = Object.values(OPENAPI_DOCUMENT.paths as Record<string, Record<string, { operationId: string; security?: unknown[] }>>).flatMap(
    (item) => Object.values(item),
  );
  const ids = operations.map((o) => o.operationId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(operations.every((o) => Array.isArray(o.security))).toBe(true);
});
