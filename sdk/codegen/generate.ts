/**
 * `npm run sdk:generate`: rewrites sdk/src/generated/openapi.ts from the broker's OpenAPI document
 * (the compiled src/openapi/document.ts). Repository tooling only: the SDK itself imports nothing
 * from the broker.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { OPENAPI_DOCUMENT } from '../../src/openapi/document';
import { OpenApiDocument, renderClientTypes } from './render-types';

const GENERATED_TYPES_FILE = path.resolve(__dirname, '../../../sdk/src/generated/openapi.ts');

if (require.main === module) {
  writeFileSync(GENERATED_TYPES_FILE, renderClientTypes(OPENAPI_DOCUMENT as unknown as OpenApiDocument));
  process.stdout.write(`wrote ${path.relative(process.cwd(), GENERATED_TYPES_FILE)}\n`);
}
