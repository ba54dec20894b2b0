import { createHash, randomBytes } from 'node:crypto';
import { BrokerError } from '../../domain/errors';

/** RFC 7636 §4.1: 43–128 characters from the unreserved set. */
const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
/** 32 random bytes → 43 base64url characters, the RFC's recommended minimum entropy. */
export const PKCE_VERIFIER_BYTES = 32;

export interface PkcePair {
  codeVerifier: string;
  codeChallenge: string;
  codeChallengeMethod: 'S256';
}

/**
 * A fresh code verifier: base64url of `byteLength` random bytes (32 → 43 chars, 96 → 128 chars).
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 */
export function createCodeVerifier(byteLength: number = PKCE_VERIFIER_BYTES): string {
  if (!Number.isInteger(byteLength) || byteLength < 32 || byteLength > 96) {
    throw new BrokerError('INTERNAL', 'PKCE verifier length must be 32 to 96 random bytes');
  }
  return randomBytes(byteLength).toString('base64url');
}

/**
 * The S256 code challenge: BASE64URL(SHA256(ASCII(code_verifier))).
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2
 */
export function codeChallengeS256(codeVerifier: string): string {
  if (!VERIFIER_PATTERN.test(codeVerifier)) {
    throw new BrokerError('INTERNAL', 'PKCE verifier must be 43-128 unreserved characters');
  }
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/**
 * A verifier and its S256 challenge. The verifier is a secret: it goes to the encrypted pending row only.
 * @see https://www.rfc-editor.org/rfc/rfc7636
 */
export function createPkcePair(): PkcePair {
  const codeVerifier = createCodeVerifier();
  return { codeVerifier, codeChallenge: codeChallengeS256(codeVerifier), codeChallengeMethod: 'S256' };
}
