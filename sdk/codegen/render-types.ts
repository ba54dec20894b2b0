/**
 * Renders the SDK's types from the broker's OpenAPI 3.1 document: the component schemas the client
 * operations reach, the query parameters and bodies of those operations, a table of their methods,
 * paths and success statuses, and the stable error codes. Pure (document in, source text out), so
 * a test can regenerate and compare with the committed `sdk/src/generated/openapi.ts`.
 * Only the schema keywords the document uses are supported; any other keyword fails loudly.
 * @see https://spec.openapis.org/oas/v3.1.0
 */

type Schema = Record<string, unknown>;
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
  $ref?: string;
}
interface Operation {
  operationId: string;
  summary?: string;
  security?: Array<Record<string, unknown>>;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; parameters?: Record<string, Parameter>; responses?: Record<string, unknown> };
}

export interface ClientOperation {
  id: string;
  method: string;
  path: string;
  operation: Operation;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const SCHEMA_PREFIX = '#/components/schemas/';
const PARAMETER_PREFIX = '#/components/parameters/';
const RESPONSE_PREFIX = '#/components/responses/';
/** Keywords that only constrain values (TypeScript cannot express them) and documentation. */
const IGNORED_KEYWORDS = new Set(['format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'default', 'description', 'title', 'additionalProperties']);
const STRUCTURAL_KEYWORDS = new Set(['$ref', 'const', 'enum', 'oneOf', 'anyOf', 'allOf', 'type', 'properties', 'required', 'items']);

/** The security schemes of a client API key (bearer and `x-api-key`). */
const CLIENT_SCHEMES = ['clientKey', 'clientApiKey'];

/** Operations a client key opens: those whose security names a client scheme. */
export function clientOperations(document: OpenApiDocument): ClientOperation[] {
  const found: ClientOperation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
      if (schemes.some((name) => CLIENT_SCHEMES.includes(name))) found.push({ id: operation.operationId, method: method.toUpperCase(), path, operation });
    }
  }
  return found;
}

/** Schema names that would shadow a global in TypeScript get another declaration name. */
const DECLARATION_NAMES: Record<string, string> = { Error: 'ErrorResponse' };

function refName(ref: string): string {
  if (!ref.startsWith(SCHEMA_PREFIX)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(SCHEMA_PREFIX.length);
}

function declarationName(name: string): string {
  return DECLARATION_NAMES[name] ?? name;
}

/** Where in the document a schema sits (for messages), its indentation, and enums with a name of their own. */
interface Context {
  indent: string;
  where: string;
  namedEnums: Map<string, string>;
}

const at = (context: Context, where: string, indent = context.indent): Context => ({ ...context, where, indent });

function pascal(id: string): string {
  return id[0].toUpperCase() + id.slice(1);
}

function literal(value: unknown): string {
  return typeof value === 'string' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : JSON.stringify(value);
}

function doc(text: unknown, indent: string): string {
  return typeof text === 'string' ? `${indent}/** ${text.replace(/\*\//g, '*\\/')} */\n` : '';
}

function propertyName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : literal(name);
}

function checkKeywords(schema: Schema, where: string): void {
  for (const key of Object.keys(schema)) {
    if (!IGNORED_KEYWORDS.has(key) && !STRUCTURAL_KEYWORDS.has(key)) throw new Error(`${where}: schema keyword "${key}" is not supported by the SDK generator`);
  }
}

function union(parts: string[]): string {
  const unique = [...new Set(parts)];
  return unique.length === 1 ? unique[0] : unique.map((p) => (p.includes('&') ? `(${p})` : p)).join(' | ');
}

function renderMembers(schema: Schema, context: Context): string {
  const { indent, where } = context;
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  for (const name of required) if (!(name in properties)) throw new Error(`${where}: required "${name}" has no property schema`);
  return Object.entries(properties)
    .map(([name, property]) => `${doc(property.description, indent)}${indent}${propertyName(name)}${required.has(name) ? '' : '?'}: ${renderType(property, at(context, `${where}.${name}`))};\n`)
    .join('');
}

function renderObject(schema: Schema, context: Context): string {
  if (schema.properties === undefined) return 'Record<string, unknown>';
  return `{\n${renderMembers(schema, at(context, context.where, `${context.indent}  `))}${context.indent}}`;
}

function renderTypeKeyword(type: string, schema: Schema, context: Context): string {
  switch (type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `Array<${schema.items === undefined ? 'unknown' : renderType(schema.items as Schema, at(context, `${context.where}[]`))}>`;
    case 'object':
      return renderObject(schema, context);
    default:
      throw new Error(`${context.where}: unsupported type "${type}"`);
  }
}

/** One schema as a TypeScript type expression. */
function renderType(schema: Schema, context: Context): string {
  const { where } = context;
  checkKeywords(schema, where);
  if (typeof schema.$ref === 'string') return declarationName(refName(schema.$ref));
  if ('const' in schema) return literal(schema.const);
  if (Array.isArray(schema.enum)) return context.namedEnums.get(JSON.stringify(schema.enum)) ?? union(schema.enum.map(literal));
  if (Array.isArray(schema.oneOf) || Array.isArray(schema.anyOf)) {
    return union(((schema.oneOf ?? schema.anyOf) as Schema[]).map((s, i) => renderType(s, at(context, `${where}|${i}`))));
  }
  if (Array.isArray(schema.allOf)) return (schema.allOf as Schema[]).map((s, i) => renderType(s, at(context, `${where}&${i}`))).join(' & ');
  if (Array.isArray(schema.type)) return union((schema.type as string[]).map((t) => renderTypeKeyword(t, schema, context)));
  if (typeof schema.type === 'string') return renderTypeKeyword(schema.type, schema, context);
  return 'unknown';
}

/** Names of the component schemas `value` refers to, following `#/components/responses/…` too. */
function collectRefs(document: OpenApiDocument, value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(document, item, into);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key !== '$ref' || typeof item !== 'string') collectRefs(document, item, into);
      else if (item.startsWith(SCHEMA_PREFIX)) into.add(refName(item));
      else if (item.startsWith(RESPONSE_PREFIX)) collectRefs(document, document.components.responses?.[item.slice(RESPONSE_PREFIX.length)], into);
      else if (item.startsWith(PARAMETER_PREFIX)) collectRefs(document, document.components.parameters?.[item.slice(PARAMETER_PREFIX.length)], into);
    }
  }
}

function resolveParameter(document: OpenApiDocument, parameter: Parameter): Parameter {
  if (parameter.$ref === undefined) return parameter;
  const resolved = document.components.parameters?.[parameter.$ref.slice(PARAMETER_PREFIX.length)];
  if (!parameter.$ref.startsWith(PARAMETER_PREFIX) || !resolved) throw new Error(`unresolved parameter ${parameter.$ref}`);
  return resolved;
}

/** The operation's answer on success: its 2xx status and JSON schema (none: no body). */
function successOf(op: ClientOperation): { status: number | null; schema: Schema | undefined } {
  const status = Object.keys(op.operation.responses).find((s) => /^2\d\d$/.test(s));
  if (status === undefined) return { status: null, schema: undefined };
  return { status: Number(status), schema: op.operation.responses[status].content?.['application/json']?.schema };
}

function jsonBodyOf(op: ClientOperation): Schema | undefined {
  const schema = op.operation.requestBody?.content?.['application/json']?.schema;
  return schema && Object.keys(schema).length > 0 ? schema : undefined;
}

function queryOf(document: OpenApiDocument, op: ClientOperation): Parameter[] {
  return (op.operation.parameters ?? []).map((p) => resolveParameter(document, p)).filter((p) => p.in === 'query');
}

function renderSchemaDeclaration(name: string, schema: Schema, namedEnums: Map<string, string>): string {
  const head = doc(schema.description, '');
  const declared = declarationName(name);
  const isObject = schema.type === 'object' && schema.properties !== undefined && schema.allOf === undefined && schema.oneOf === undefined;
  if (isObject) return `${head}export interface ${declared} {\n${renderMembers(schema, { indent: '  ', where: name, namedEnums })}}\n`;
  return `${head}export type ${declared} = ${renderType(schema, { indent: '', where: name, namedEnums })};\n`;
}

/** The whole generated module. */
export function renderClientTypes(document: OpenApiDocument): string {
  const operations = clientOperations(document);
  if (operations.length === 0) throw new Error('the document has no client operations');
  const out: string[] = [
    '// Generated by sdk/codegen/render-types.ts from the broker\'s OpenAPI document. Do not edit:',
    '// `npm run sdk:generate` rewrites it, and test/sdk/openapi-contract.test.ts fails when it drifts.',
    '',
  ];

  const errorCode = ((document.components.schemas.Error?.properties as Record<string, Schema> | undefined)?.error?.properties as Record<string, Schema> | undefined)?.code;
  if (!errorCode || !Array.isArray(errorCode.enum)) throw new Error('components.schemas.Error.properties.error.properties.code has no enum');
  out.push('/** The broker\'s stable error codes (`{"error":{"code","message"}}`). */');
  out.push(`export const ERROR_CODES = [\n${errorCode.enum.map((c) => `  ${literal(c)},\n`).join('')}] as const;`);
  out.push('export type ErrorCode = (typeof ERROR_CODES)[number];', '');

  // Component schemas the client operations reach, transitively, in the document's order.
  const reached = new Set<string>();
  collectRefs(document, operations.map((op) => op.operation), reached);
  for (let size = -1; size !== reached.size; ) {
    size = reached.size;
    for (const name of [...reached]) collectRefs(document, document.components.schemas[name], reached);
  }
  const namedEnums = new Map([[JSON.stringify(errorCode.enum), 'ErrorCode']]);
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    if (reached.has(name)) out.push(renderSchemaDeclaration(name, schema, namedEnums));
  }
  const context = (where: string): Context => ({ indent: '  ', where, namedEnums });

  for (const op of operations) {
    const query = queryOf(document, op);
    if (query.length === 0) continue;
    out.push(`/** Query parameters of \`${op.id}\`. */`);
    out.push(
      `export interface ${pascal(op.id)}Query {\n${query
        .map((p) => `${doc(p.description, '  ')}  ${propertyName(p.name)}${p.required ? '' : '?'}: ${renderType(p.schema ?? {}, context(`${op.id}.${p.name}`))};\n`)
        .join('')}}\n`,
    );
  }

  const server = document.servers?.[0]?.url;
  if (server === undefined || !server.startsWith('/')) throw new Error('the document needs a relative servers[0].url');
  out.push('/** Where the API sits under the broker\'s base URL (the document\'s `servers`). */');
  out.push(`export const API_BASE_PATH = ${literal(server.replace(/\/$/, ''))};`, '');
  out.push('/** Every client operation of the document: method, path template and success status (null: any status is the answer). */');
  out.push('export const CLIENT_OPERATIONS = {');
  for (const op of operations) out.push(`  ${op.id}: { method: '${op.method}', path: '${op.path}', success: ${successOf(op).status} },`);
  out.push('} as const;', 'export type ClientOperationId = keyof typeof CLIENT_OPERATIONS;', '');

  out.push('/** Request and response types per client operation (`response: void` when the success has no body). */');
  out.push('export interface ClientOperationTypes {');
  for (const op of operations) {
    const { status, schema } = successOf(op);
    const body = jsonBodyOf(op);
    const parts = [
      ...(queryOf(document, op).length > 0 ? [`query: ${pascal(op.id)}Query`] : []),
      ...(body ? [`body: ${renderType(body, context(`${op.id}.body`))}`] : []),
      `response: ${status === null ? 'unknown' : schema ? renderType(schema, context(`${op.id}.response`)) : 'void'}`,
    ];
    out.push(`  ${op.id}: { ${parts.join('; ')} };`);
  }
  out.push('}', '');
  return out.join('\n');
}
