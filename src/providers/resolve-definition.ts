import { endpointUrlProblem } from '../config/url-rules';
import {
  type CatalogueEntry,
  EXCLUSIVE_PAIRS,
  PROVIDER_FIELDS,
  type ProviderField,
  type ProviderInput,
  type ProviderLayer,
  providerInvalid,
} from './definition-fields';
import type { OAuth1ProviderDefinition, OAuth2ProviderDefinition, ProviderDefinition } from './types';

const URL_FIELDS = [
  'authorizationUrl',
  'tokenUrl',
  'revocationUrl',
  'apiBaseUrl',
  'requestTokenUrl',
  'accessTokenUrl',
  'issuer',
  'jwksUrl',
  'introspectionUrl',
  'parUrl',
  'deviceAuthorizationUrl',
  'verifyUrl',
] as const;
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;
/** Template values end up inside URLs; keep them to host/path characters. */
const TEMPLATE_VALUE_PATTERN = /^[A-Za-z0-9._~:/-]+$/;

export interface ResolvedProvider {
  definition: ProviderDefinition;
  /** Credentials are present and every URL template is filled: usable, and listed by `GET /providers`. */
  configured: boolean;
}

/**
 * Merges user layers field-wise over a catalogue entry. A layer that changes the protocol starts
 * from nothing instead of the catalogue entry; a layer setting one of a credential pair
 * (clientSecret/clientSecretName, privateKey/privateKeyName) replaces the other; `null` deletes.
 */
export function mergeProviderLayers(base: CatalogueEntry | undefined, layers: readonly ProviderLayer[]): ProviderInput {
  let merged: Record<string, unknown> = { ...base };
  for (const layer of layers) {
    if (layer.protocol != null && base !== undefined && layer.protocol !== base.protocol) merged = {};
    for (const [a, b] of EXCLUSIVE_PAIRS) {
      if (layer[a] != null) delete merged[b];
      if (layer[b] != null) delete merged[a];
    }
    for (const [field, value] of Object.entries(layer)) {
      if (value === null) delete merged[field];
      else merged[field] = value;
    }
  }
  return merged as ProviderInput;
}

function fillTemplates(name: string, input: ProviderInput): { input: ProviderInput; unresolved: Map<string, string> } {
  const values = input.templateValues ?? {};
  for (const [key, value] of Object.entries(values)) {
    if (!TEMPLATE_VALUE_PATTERN.test(value)) {
      throw providerInvalid(name, `templateValues.${key}`, 'may contain only letters, digits and . _ ~ : / -');
    }
  }
  const unresolved = new Map<string, string>(); // variable → first field using it
  const filled: ProviderInput = { ...input };
  for (const field of URL_FIELDS) {
    const url = filled[field];
    if (url === undefined) continue;
    filled[field] = url.replace(PLACEHOLDER, (whole, variable: string) => {
      const value = values[variable];
      if (value !== undefined) return value;
      if (!unresolved.has(variable)) unresolved.set(variable, field);
      return whole;
    });
  }
  return { input: filled, unresolved };
}

function requireField(name: string, input: ProviderInput, field: ProviderField): void {
  if (input[field] === undefined) throw providerInvalid(name, field, `is required for ${input.protocol} providers`);
}

function checkCredentials(name: string, input: ProviderInput): void {
  requireField(name, input, 'clientId');
  if (input.protocol === 'oauth1' && input.signatureMethod === 'RSA-SHA1') {
    if (input.privateKey === undefined && input.privateKeyName === undefined) {
      throw providerInvalid(name, 'privateKey', 'or "privateKeyName" is required for RSA-SHA1');
    }
    return;
  }
  if (isPublicClient(input)) return;
  if (input.clientSecret === undefined && input.clientSecretName === undefined) {
    throw providerInvalid(name, 'clientSecret', 'or "clientSecretName" is required');
  }
}

/** A public client (`clientAuthMethod: "none"`) has no secret to configure. */
function isPublicClient(input: ProviderInput): boolean {
  return input.protocol === 'oauth2' && input.clientAuthMethod === 'none';
}

/** RFC 9700 §2.1.1: a public client's code is protected by PKCE alone, so it cannot be switched off; a secret would never be sent. */
function checkPublicClient(name: string, input: ProviderInput): void {
  if (!isPublicClient(input)) return;
  if (input.pkce === false) throw providerInvalid(name, 'pkce', 'cannot be false for a public client (clientAuthMethod "none")');
  if (input.clientSecret !== undefined || input.clientSecretName !== undefined) {
    throw providerInvalid(name, input.clientSecret !== undefined ? 'clientSecret' : 'clientSecretName', 'must not be set for a public client (clientAuthMethod "none")');
  }
}

function hasCredentials(input: ProviderInput): boolean {
  if (input.clientId === undefined) return false;
  if (input.protocol === 'oauth1' && input.signatureMethod === 'RSA-SHA1') {
    return input.privateKey !== undefined || input.privateKeyName !== undefined;
  }
  if (isPublicClient(input)) return true;
  return input.clientSecret !== undefined || input.clientSecretName !== undefined;
}

/** Drops `undefined` so definitions compare and serialise cleanly. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Turns a merged definition into a full, validated {@link ProviderDefinition}, applying defaults
 * (PKCE on, `client_secret_basic` as RFC 6749 §2.3.1 requires servers to support, scopes joined by
 * a space per RFC 6749 §3.3, HMAC-SHA1 in the Authorization header per RFC 5849 §3.5.1).
 *
 * @param userDefined the provider appears in BROKER_PROVIDERS(_FILE): it must then be complete,
 *   credentials and URL template values included. Catalogue-only entries are checked without them.
 * @throws BrokerError PROVIDER_INVALID naming the provider and the field.
 * @see https://www.rfc-editor.org/rfc/rfc6749 and https://www.rfc-editor.org/rfc/rfc5849
 */
export function resolveProviderDefinition(name: string, merged: ProviderInput, userDefined: boolean): ResolvedProvider {
  const protocol = merged.protocol;
  if (protocol === undefined) throw providerInvalid(name, 'protocol', 'is required for a provider the catalogue does not know');
  for (const field of Object.keys(merged) as ProviderField[]) {
    if (!PROVIDER_FIELDS[field].protocols.includes(protocol)) throw providerInvalid(name, field, `does not apply to ${protocol} providers`);
  }
  const { input, unresolved } = fillTemplates(name, merged);
  // With an issuer, the OAuth 2.0 endpoints the definition leaves out come from discovery.
  const required: ProviderField[] =
    protocol === 'oauth1' ? ['requestTokenUrl', 'authorizationUrl', 'accessTokenUrl'] : input.issuer === undefined ? ['authorizationUrl', 'tokenUrl'] : [];
  for (const field of required) requireField(name, input, field);
  for (const field of URL_FIELDS) {
    const url = input[field];
    if (url === undefined) continue;
    const problem = endpointUrlProblem(url.replace(PLACEHOLDER, 'template'));
    if (problem) throw providerInvalid(name, field, problem);
  }
  if (input.accountInfo !== undefined) {
    const problem = endpointUrlProblem(input.accountInfo.url);
    if (problem) throw providerInvalid(name, 'accountInfo.url', problem);
  }
  if (input.apiBaseUrl !== undefined && new URL(input.apiBaseUrl.replace(PLACEHOLDER, 'template')).search) {
    throw providerInvalid(name, 'apiBaseUrl', 'must not contain a query string');
  }
  // RFC 8414 §2: the issuer identifier has no query or fragment (the fragment is refused above).
  if (input.issuer !== undefined && new URL(input.issuer.replace(PLACEHOLDER, 'template')).search) {
    throw providerInvalid(name, 'issuer', 'must not contain a query string');
  }
  if (input.successor === name) throw providerInvalid(name, 'successor', 'must name another provider');
  checkPublicClient(name, input);
  if (userDefined) {
    const [variable, field] = [...unresolved][0] ?? [];
    if (variable !== undefined) throw providerInvalid(name, 'templateValues', `must give "${variable}" (used in "${field}")`);
    checkCredentials(name, input);
  }

  const common = {
    name,
    displayName: input.displayName ?? name,
    apiBaseUrl: input.apiBaseUrl?.replace(/\/+$/, ''),
    clientId: input.clientId,
    clientSecret: input.clientSecret,
    clientSecretName: input.clientSecretName,
    templateValues: input.templateValues,
    templateVariables: unresolved.size > 0 ? [...unresolved.keys()] : undefined,
    proxyHeaders: input.proxyHeaders?.map((header) => header.toLowerCase()),
    verifyUrl: input.verifyUrl,
    verifyMethod: input.verifyMethod,
    deprecatedAfter: input.deprecatedAfter,
    successor: input.successor,
  };
  const definition: ProviderDefinition =
    protocol === 'oauth2'
      ? compact<OAuth2ProviderDefinition>({
          ...common,
          protocol,
          authorizationUrl: input.authorizationUrl,
          tokenUrl: input.tokenUrl,
          revocationUrl: input.revocationUrl,
          defaultScopes: input.defaultScopes ?? [],
          scopeSeparator: input.scopeSeparator ?? ' ',
          pkce: input.pkce ?? true,
          clientAuthMethod: input.clientAuthMethod ?? 'client_secret_basic',
          authorizationParams: input.authorizationParams ?? {},
          tokenParams: input.tokenParams ?? {},
          refreshable: input.refreshable ?? true,
          expiresInFallbackSeconds: input.expiresInFallbackSeconds,
          issuer: input.issuer,
          authorizationResponseIssRequired: input.authorizationResponseIssRequired,
          responseMode: input.responseMode,
          jwksUrl: input.jwksUrl,
          introspectionUrl: input.introspectionUrl,
          par: input.par,
          parUrl: input.parUrl,
          deviceAuthorizationUrl: input.deviceAuthorizationUrl,
          accountInfo: input.accountInfo,
          dpop: input.dpop,
          grants: input.grants,
        })
      : compact<OAuth1ProviderDefinition>({
          ...common,
          protocol,
          requestTokenUrl: input.requestTokenUrl as string,
          authorizationUrl: input.authorizationUrl as string,
          accessTokenUrl: input.accessTokenUrl as string,
          signatureMethod: input.signatureMethod ?? 'HMAC-SHA1',
          parameterPlacement: input.parameterPlacement ?? 'header',
          privateKey: input.privateKey,
          privateKeyName: input.privateKeyName,
          authorizationParams: input.authorizationParams ?? {},
        });
  return { definition, configured: unresolved.size === 0 && hasCredentials(input) };
}
