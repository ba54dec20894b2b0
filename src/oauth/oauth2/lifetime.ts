/**
 * When an access token expires, from the best source available, in this order: the answer's
 * `expires_in`; the `exp` of an access token that is a JWT (RFC 9068); RFC 7662 introspection
 * where the provider offers it; the provider's configured lifetime; the broker's fallback. The
 * result says which source set it, so operators can tell a stated expiry from an assumed one.
 */
import * as oauth from 'oauth4webapi';
import type { ExpirySource } from '../../domain/connection';
import { DEFAULT_EXPIRES_IN_FALLBACK_S } from '../../domain/refresh-policy';
import { authorizationServer, requestOptions, TransportOptions } from './library';
import { clientAuth, ClientAuthentication, libraryClient } from './token-request';

export type { ExpirySource };

export interface TokenLifetime {
  /** ISO time, or null for a token that is not known to expire. */
  expiresAt: string | null;
  source?: ExpirySource;
}

export interface LifetimeInput {
  accessToken: string;
  expiresIn?: number;
  hasRefreshToken: boolean;
  now: Date;
  /** The provider's `expiresInFallbackSeconds`. */
  configuredSeconds?: number;
  /** Present when the provider has an introspection endpoint. */
  introspection?: ClientAuthentication & { introspectionUrl: string };
}

/**
 * The token's lifetime. Without a refresh token, only a lifetime the provider states (expires_in,
 * JWT exp, introspection) counts: such a token is otherwise treated as long-lived, as before.
 */
export async function tokenLifetime(input: LifetimeInput, transport?: TransportOptions): Promise<TokenLifetime> {
  const nowMs = input.now.getTime();
  const at = (ms: number) => new Date(ms).toISOString();
  if (input.expiresIn !== undefined) return { expiresAt: at(nowMs + input.expiresIn * 1000), source: 'expires_in' };
  const jwtExp = jwtExpiry(input.accessToken);
  if (jwtExp !== undefined && jwtExp * 1000 > nowMs) return { expiresAt: at(jwtExp * 1000), source: 'jwt_exp' };
  if (input.introspection) {
    const exp = await introspectedExpiry(input.accessToken, input.introspection, transport);
    if (exp !== undefined && exp * 1000 > nowMs) return { expiresAt: at(exp * 1000), source: 'introspection' };
  }
  if (!input.hasRefreshToken) return { expiresAt: null };
  return { expiresAt: expiryOf(input.now, undefined, true, input.configuredSeconds), source: input.configuredSeconds === undefined ? 'fallback' : 'configured' };
}

/**
 * The rule without the token's own sources: `expires_in`; else, with a refresh token, the
 * provider's configured lifetime or one hour; else no expiry.
 */
export function expiryOf(now: Date, expiresIn: number | undefined, hasRefreshToken: boolean, fallbackSeconds?: number): string | null {
  if (expiresIn !== undefined) return new Date(now.getTime() + expiresIn * 1000).toISOString();
  if (!hasRefreshToken) return null;
  return new Date(now.getTime() + (fallbackSeconds ?? DEFAULT_EXPIRES_IN_FALLBACK_S) * 1000).toISOString();
}

/**
 * `exp` of a JWT access token, read without verifying the signature: it only schedules the
 * refresh, it grants nothing (the provider still judges the token on every call).
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-2.2
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !/^[A-Za-z0-9_-]+$/.test(parts[1])) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = typeof claims === 'object' && claims !== null ? (claims as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `exp` from RFC 7662 introspection of an active token. Any failure means "unknown": the next
 * source applies, and the exchange or refresh that asked does not fail over a lifetime.
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
async function introspectedExpiry(
  token: string,
  endpoint: ClientAuthentication & { introspectionUrl: string },
  transport?: TransportOptions,
): Promise<number | undefined> {
  const as = authorizationServer({ introspectionUrl: endpoint.introspectionUrl });
  const client = libraryClient(endpoint);
  try {
    const response = await oauth.introspectionRequest(as, client, clientAuth(endpoint), token, {
      ...requestOptions(endpoint.introspectionUrl, transport),
      additionalParameters: { token_type_hint: 'access_token' },
    });
    const result = await oauth.processIntrospectionResponse(as, client, response);
    return result.active && typeof result.exp === 'number' ? result.exp : undefined;
  } catch {
    return undefined;
  }
}
