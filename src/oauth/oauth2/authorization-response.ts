import { BrokerError } from '../../domain/errors';
import { readOAuthError } from './provider-error';

/** What the provider's redirect to the callback said. `code` is a secret; `state` is matched, never logged. */
export type AuthorizationResponse =
  | { kind: 'code'; code: string; state: string; issuer?: string }
  | { kind: 'error'; error: string; errorDescription?: string; state?: string; issuer?: string };

/** A callback query as a URLSearchParams (Azure Functions v4) or a parsed record. */
export type CallbackQuery = URLSearchParams | Record<string, string | string[] | undefined>;

const CALLBACK_PARAMS = ['code', 'state', 'error', 'error_description', 'iss'] as const;
type CallbackParam = (typeof CALLBACK_PARAMS)[number];

/**
 * Reads the authorization response from the callback query. Missing, empty or repeated protocol
 * parameters, or a code and an error together, are `CALLBACK_INVALID` (the message names the
 * parameter, never its value). `iss` (RFC 9207) is passed through for the caller to compare.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 * @see https://www.rfc-editor.org/rfc/rfc9207
 */
export function parseAuthorizationResponse(query: CallbackQuery): AuthorizationResponse {
  const values = readSingleValues(query);
  const issuer = values.iss;
  if (values.error !== undefined) {
    if (values.code !== undefined) throw callbackInvalid('carries both code and error');
    const fields = readOAuthError({ error: values.error, error_description: values.error_description });
    if (!fields) throw callbackInvalid('has a malformed error parameter');
    return { kind: 'error', error: fields.error, errorDescription: fields.errorDescription, state: values.state, issuer };
  }
  if (values.code === undefined) throw callbackInvalid('has neither code nor error');
  if (values.state === undefined) throw callbackInvalid('has no state');
  return { kind: 'code', code: values.code, state: values.state, issuer };
}

function readSingleValues(query: CallbackQuery): Partial<Record<CallbackParam, string>> {
  const values: Partial<Record<CallbackParam, string>> = {};
  for (const name of CALLBACK_PARAMS) {
    const all = query instanceof URLSearchParams ? query.getAll(name) : toList(query[name]);
    if (all.length > 1) throw callbackInvalid(`repeats the ${name} parameter`);
    if (all.length === 1) {
      if (all[0] === '') throw callbackInvalid(`has an empty ${name} parameter`);
      values[name] = all[0];
    }
  }
  return values;
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function callbackInvalid(problem: string): BrokerError {
  return new BrokerError('CALLBACK_INVALID', `Authorization callback ${problem}`);
}
