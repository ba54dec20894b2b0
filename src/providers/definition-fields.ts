import { BrokerError } from '../domain/errors';
import { OAUTH2_GRANTS } from './types';
import type { AccountInfoEndpoint, ClientAuthMethod, OAuth2Grant, OAuth1ParameterPlacement, OAuth2ResponseMode, ProviderProtocol, SignatureMethod, VerifyMethod } from './types';

/**
 * The fields a provider definition may carry, as a user writes them (BROKER_PROVIDERS,
 * BROKER_PROVIDERS_FILE) and as the catalogue stores them. Every field is optional here:
 * completeness is checked after the layers are merged (./resolve-definition.ts).
 */
export interface ProviderInput {
  protocol?: ProviderProtocol;
  displayName?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  apiBaseUrl?: string;
  defaultScopes?: string[];
  scopeSeparator?: string;
  pkce?: boolean;
  clientAuthMethod?: ClientAuthMethod;
  clientId?: string;
  clientSecret?: string;
  clientSecretName?: string;
  authorizationParams?: Record<string, string>;
  tokenParams?: Record<string, string>;
  requestTokenUrl?: string;
  accessTokenUrl?: string;
  signatureMethod?: SignatureMethod;
  parameterPlacement?: OAuth1ParameterPlacement;
  privateKey?: string;
  privateKeyName?: string;
  templateValues?: Record<string, string>;
  refreshable?: boolean;
  expiresInFallbackSeconds?: number;
  proxyHeaders?: string[];
  issuer?: string;
  authorizationResponseIssRequired?: boolean;
  responseMode?: OAuth2ResponseMode;
  jwksUrl?: string;
  introspectionUrl?: string;
  par?: boolean;
  parUrl?: string;
  deviceAuthorizationUrl?: string;
  dpop?: boolean;
  verifyUrl?: string;
  verifyMethod?: VerifyMethod;
  deprecatedAfter?: string;
  successor?: string;
  accountInfo?: AccountInfoEndpoint;
  grants?: OAuth2Grant[];
}

export type ProviderField = keyof ProviderInput;

/** One user layer: `null` removes the value inherited from the layers below (catalogue, file). */
export type ProviderLayer = { [K in ProviderField]?: ProviderInput[K] | null };

/** A catalogue entry: protocol facts only, never credentials. */
export type CatalogueEntry = Omit<ProviderInput, 'clientId' | 'clientSecret' | 'clientSecretName' | 'privateKey' | 'privateKeyName'> & {
  protocol: ProviderProtocol;
};

type FieldType =
  | { kind: 'string' }
  /** Whitespace is meaningful here: " " is the RFC 6749 §3.3 scope separator. */
  | { kind: 'separator' }
  | { kind: 'url' }
  | { kind: 'secretName' }
  | { kind: 'boolean' }
  | { kind: 'positiveInteger' }
  | { kind: 'stringList' }
  | { kind: 'headerNames' }
  | { kind: 'stringMap' }
  /** A calendar date, `YYYY-MM-DD`. */
  | { kind: 'date' }
  | { kind: 'providerName' }
  /** `{url, subjectField, nameField?, emailField?}`: the provider's user endpoint (./types.ts). */
  | { kind: 'accountInfo' }
  | { kind: 'oneOf'; values: readonly string[] }
  /** A non-empty list of distinct values from `values`. */
  | { kind: 'someOf'; values: readonly string[] };

interface FieldSpec {
  type: FieldType;
  /** Protocols the field applies to. */
  protocols: readonly ProviderProtocol[];
}

const BOTH = ['oauth1', 'oauth2'] as const;
const OAUTH1 = ['oauth1'] as const;
const OAUTH2 = ['oauth2'] as const;

export const PROVIDER_FIELDS: Readonly<Record<ProviderField, FieldSpec>> = {
  protocol: { type: { kind: 'oneOf', values: ['oauth1', 'oauth2'] }, protocols: BOTH },
  displayName: { type: { kind: 'string' }, protocols: BOTH },
  authorizationUrl: { type: { kind: 'url' }, protocols: BOTH },
  tokenUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  revocationUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  apiBaseUrl: { type: { kind: 'url' }, protocols: BOTH },
  defaultScopes: { type: { kind: 'stringList' }, protocols: OAUTH2 },
  scopeSeparator: { type: { kind: 'separator' }, protocols: OAUTH2 },
  pkce: { type: { kind: 'boolean' }, protocols: OAUTH2 },
  clientAuthMethod: { type: { kind: 'oneOf', values: ['client_secret_basic', 'client_secret_post', 'none'] }, protocols: OAUTH2 },
  clientId: { type: { kind: 'string' }, protocols: BOTH },
  clientSecret: { type: { kind: 'string' }, protocols: BOTH },
  clientSecretName: { type: { kind: 'secretName' }, protocols: BOTH },
  authorizationParams: { type: { kind: 'stringMap' }, protocols: BOTH },
  tokenParams: { type: { kind: 'stringMap' }, protocols: OAUTH2 },
  requestTokenUrl: { type: { kind: 'url' }, protocols: OAUTH1 },
  accessTokenUrl: { type: { kind: 'url' }, protocols: OAUTH1 },
  signatureMethod: { type: { kind: 'oneOf', values: ['HMAC-SHA1', 'HMAC-SHA256', 'RSA-SHA1', 'PLAINTEXT'] }, protocols: OAUTH1 },
  parameterPlacement: { type: { kind: 'oneOf', values: ['header', 'query', 'body'] }, protocols: OAUTH1 },
  privateKey: { type: { kind: 'string' }, protocols: OAUTH1 },
  privateKeyName: { type: { kind: 'secretName' }, protocols: OAUTH1 },
  templateValues: { type: { kind: 'stringMap' }, protocols: BOTH },
  refreshable: { type: { kind: 'boolean' }, protocols: OAUTH2 },
  expiresInFallbackSeconds: { type: { kind: 'positiveInteger' }, protocols: OAUTH2 },
  proxyHeaders: { type: { kind: 'headerNames' }, protocols: BOTH },
  issuer: { type: { kind: 'url' }, protocols: OAUTH2 },
  authorizationResponseIssRequired: { type: { kind: 'boolean' }, protocols: OAUTH2 },
  responseMode: { type: { kind: 'oneOf', values: ['query', 'form_post'] }, protocols: OAUTH2 },
  jwksUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  introspectionUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  par: { type: { kind: 'boolean' }, protocols: OAUTH2 },
  parUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  deviceAuthorizationUrl: { type: { kind: 'url' }, protocols: OAUTH2 },
  dpop: { type: { kind: 'boolean' }, protocols: OAUTH2 },
  verifyUrl: { type: { kind: 'url' }, protocols: BOTH },
  verifyMethod: { type: { kind: 'oneOf', values: ['GET', 'HEAD', 'POST'] }, protocols: BOTH },
  deprecatedAfter: { type: { kind: 'date' }, protocols: BOTH },
  successor: { type: { kind: 'providerName' }, protocols: BOTH },
  accountInfo: { type: { kind: 'accountInfo' }, protocols: OAUTH2 },
  grants: { type: { kind: 'someOf', values: OAUTH2_GRANTS }, protocols: OAUTH2 },
};

/** Provider names appear in `/api/callback/{name}`, so they stay URL-path safe. */
export const PROVIDER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Key Vault secret names are `[0-9a-zA-Z-]`; settings names add `_`. */
/** RFC 9110 §5.1 field names (tokens). */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SECRET_NAME_PATTERN = /^[A-Za-z0-9_-]{1,127}$/;

/** Error for a provider definition, naming provider and field (never the value). */
export function providerInvalid(provider: string, field: string | undefined, problem: string, source?: string): BrokerError {
  const where = field === undefined ? `provider "${provider}"` : `provider "${provider}": field "${field}"`;
  return new BrokerError('PROVIDER_INVALID', `${where} ${problem}${source ? ` (${source})` : ''}`, {
    details: { provider, ...(field === undefined ? {} : { field }) },
  });
}

function typeProblem(type: FieldType, value: unknown): string | undefined {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  switch (type.kind) {
    case 'string':
    case 'url':
      return typeof value === 'string' && value.trim() !== '' ? undefined : 'must be a non-empty string';
    case 'separator':
      return typeof value === 'string' && value.length > 0 && value.length <= 4 ? undefined : 'must be a string of 1 to 4 characters';
    case 'secretName':
      return typeof value === 'string' && SECRET_NAME_PATTERN.test(value)
        ? undefined
        : 'must be a secret name (letters, digits, "-" or "_", at most 127)';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'positiveInteger':
      return Number.isSafeInteger(value) && (value as number) > 0 ? undefined : 'must be a positive integer';
    case 'stringList':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')
        ? undefined
        : 'must be an array of non-empty strings';
    case 'headerNames':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && HEADER_NAME_PATTERN.test(v))
        ? undefined
        : 'must be an array of HTTP header names';
    case 'stringMap':
      return isRecord(value) && Object.values(value).every((v) => typeof v === 'string')
        ? undefined
        : 'must be an object whose values are strings';
    case 'date':
      return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value)
        ? undefined
        : 'must be a date (YYYY-MM-DD)';
    case 'providerName':
      return typeof value === 'string' && PROVIDER_NAME_PATTERN.test(value) ? undefined : 'must be a provider name';
    case 'oneOf':
      return typeof value === 'string' && type.values.includes(value) ? undefined : `must be one of ${type.values.join(', ')}`;
    case 'accountInfo':
      return accountInfoProblem(value, isRecord);
    case 'someOf':
      return Array.isArray(value) && value.length > 0 && new Set(value).size === value.length && value.every((v) => typeof v === 'string' && type.values.includes(v))
        ? undefined
        : `must be a non-empty list of distinct values from ${type.values.join(', ')}`;
  }
}

const ACCOUNT_INFO_KEYS = new Set(['url', 'subjectField', 'nameField', 'emailField']);
/** A field name, or a dotted path into nested objects (`data.id`). */
const JSON_FIELD_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

function accountInfoProblem(value: unknown, isRecord: (v: unknown) => v is Record<string, unknown>): string | undefined {
  const problem = 'must be an object {url, subjectField, nameField?, emailField?} whose fields are JSON field names (dotted for nested ones)';
  if (!isRecord(value) || Object.keys(value).some((key) => !ACCOUNT_INFO_KEYS.has(key))) return problem;
  if (typeof value.url !== 'string' || value.url.trim() === '') return problem;
  for (const key of ['subjectField', 'nameField', 'emailField']) {
    const field = value[key];
    if ((key === 'subjectField' || field !== undefined) && (typeof field !== 'string' || !JSON_FIELD_PATH.test(field))) return problem;
  }
  return undefined;
}

/** Pairs of fields that name the same credential two ways; a layer setting one replaces both. */
export const EXCLUSIVE_PAIRS: ReadonlyArray<readonly [ProviderField, ProviderField]> = [
  ['clientSecret', 'clientSecretName'],
  ['privateKey', 'privateKeyName'],
];

/**
 * Checks one layer of user definitions (the parsed JSON of BROKER_PROVIDERS or
 * BROKER_PROVIDERS_FILE): an object of provider name → definition with known fields of the right
 * types. URLs and completeness are checked later, on the merged definition.
 */
export function parseProviderLayer(json: unknown, source: string): Map<string, ProviderLayer> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BrokerError('PROVIDER_INVALID', `${source} must be a JSON object of provider name → definition`);
  }
  const layer = new Map<string, ProviderLayer>();
  for (const [name, definition] of Object.entries(json)) {
    if (!PROVIDER_NAME_PATTERN.test(name)) {
      throw providerInvalid(name, undefined, 'has an invalid name (lowercase letters, digits, "-" and "_", starting with a letter or digit)', source);
    }
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
      throw providerInvalid(name, undefined, 'must be a JSON object', source);
    }
    for (const [field, value] of Object.entries(definition)) {
      if (!Object.prototype.hasOwnProperty.call(PROVIDER_FIELDS, field)) throw providerInvalid(name, field, 'is not a known field', source);
      if (value === null) continue;
      const problem = typeProblem(PROVIDER_FIELDS[field as ProviderField].type, value);
      if (problem) throw providerInvalid(name, field, problem, source);
    }
    for (const [a, b] of EXCLUSIVE_PAIRS) {
      const record = definition as Record<string, unknown>;
      if (record[a] != null && record[b] != null) throw providerInvalid(name, b, `cannot be set together with "${a}"`, source);
    }
    layer.set(name, definition as ProviderLayer);
  }
  return layer;
}
