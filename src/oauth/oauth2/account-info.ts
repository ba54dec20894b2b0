/**
 * Who connected, for providers without OpenID Connect: the provider's user endpoint (its
 * definition's `accountInfo`), called once with the new access token. Request building and answer
 * parsing are pure; `send` is the only I/O.
 */
import type { UpstreamAccount } from '../../domain/connection';
import type { AccountInfoEndpoint } from '../../providers/types';
import { dispatch, type HttpRequestSpec, type SendOptions } from '../http';

export function buildAccountInfoRequest(endpoint: AccountInfoEndpoint, accessToken: string, tokenType: string): HttpRequestSpec {
  // RFC 6750 §2.1; a provider answering token_type "bearer" in lower case still takes "Bearer".
  const scheme = tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType;
  return { url: endpoint.url, method: 'GET', headers: { authorization: `${scheme} ${accessToken}`, accept: 'application/json' } };
}

/**
 * The account the answer names, or undefined when it names none (not 2xx, not JSON, no subject).
 * `issuer` is the provider's issuer when it has one, else the user endpoint's origin, so subjects of
 * two providers never meet.
 */
export function parseAccountInfoResponse(endpoint: AccountInfoEndpoint, issuer: string | undefined, status: number, body: Buffer): UpstreamAccount | undefined {
  if (status < 200 || status >= 300) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const subject = scalarAt(json, endpoint.subjectField);
  if (subject === undefined || subject === '') return undefined;
  const displayName = endpoint.nameField ? scalarAt(json, endpoint.nameField) : undefined;
  const email = endpoint.emailField ? scalarAt(json, endpoint.emailField) : undefined;
  return {
    issuer: issuer ?? new URL(endpoint.url).origin,
    subject,
    ...(displayName ? { displayName } : {}),
    ...(email ? { email } : {}),
  };
}

/** Asks the user endpoint; a failure to answer names no account (the connection is kept without one). */
export async function fetchAccountInfo(
  endpoint: AccountInfoEndpoint,
  issuer: string | undefined,
  tokens: { accessToken: string; tokenType: string },
  transport: SendOptions,
): Promise<UpstreamAccount | undefined> {
  try {
    const response = await dispatch(buildAccountInfoRequest(endpoint, tokens.accessToken, tokens.tokenType), transport);
    return parseAccountInfoResponse(endpoint, issuer, response.status, response.body);
  } catch {
    return undefined;
  }
}

/** A string or number at a dotted path (numeric ids such as GitHub's become their decimal string). */
function scalarAt(json: unknown, path: string): string | undefined {
  let value: unknown = json;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
