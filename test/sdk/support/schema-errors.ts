/**
 * Where a JSON value breaks an OpenAPI 3.1 schema of the document: a missing required field, a
 * value of another type, one outside an enum or const, a oneOf matched by none or several. Only the
 * keywords the broker's document uses; constraints TypeScript cannot express (format, pattern) are
 * not checked. Lets the end-to-end test hold the real broker's answers to the schemas the SDK's
 * types are generated from.
 */
type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const typeOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value);

export function schemaErrors(value: unknown, schema: Schema, document: { components: { schemas: Record<string, Schema> } }, where = '$'): string[] {
  if (typeof schema.$ref === 'string') return schemaErrors(value, document.components.schemas[schema.$ref.replace('#/components/schemas/', '')], document, where);
  const errors: string[] = [];
  if ('const' in schema && value !== schema.const) errors.push(`${where}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} is not one of the enum`);
  for (const part of schema.allOf ?? []) errors.push(...schemaErrors(value, part, document, where));
  if (Array.isArray(schema.oneOf)) {
    const matching = schema.oneOf.filter((part: Schema) => schemaErrors(value, part, document, where).length === 0).length;
    if (matching !== 1) errors.push(`${where}: matches ${matching} of the oneOf alternatives`);
  }
  if (schema.type !== undefined) {
    const allowed: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual = typeOf(value);
    if (!allowed.includes(actual) && !(actual === 'integer' && allowed.includes('number'))) return [...errors, `${where}: ${actual} where ${allowed.join('|')} is expected`];
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in object)) errors.push(`${where}.${name}: required but missing`);
    for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      if (name in object) errors.push(...schemaErrors(object[name], property, document, `${where}.${name}`));
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => errors.push(...schemaErrors(item, schema.items, document, `${where}[${i}]`)));
  return errors;
}
