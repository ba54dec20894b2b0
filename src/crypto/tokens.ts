import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SHA-256 hex of a state value (or any single-use secret) so only the hash is stored.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.7.1
 */
export function hashState(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings in time independent of where they differ and of their lengths (both are hashed first). */
export function timingSafeEqualString(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * `bytes` of CSPRNG output, base64url without padding (32 bytes = 256 bits, above the 128 bits
 * RFC 9700 asks of state and RFC 7636 of a PKCE verifier).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
