/**
 * DPoP (RFC 9449) keys: one P-256 key pair per connection. The private key is a secret like any
 * credential (sealed with the connection's credentials, never in durable history); proofs are made
 * by oauth4webapi's DPoP handle, which also keeps the server's `DPoP-Nonce`.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
import { webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import type { DpopKey } from '../../storage/credentials';

export type { DpopKey };

const ES256_IMPORT = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export async function createDpopKey(): Promise<DpopKey> {
  const pair = await oauth.generateKeyPair('ES256', { extractable: true });
  return {
    alg: 'ES256',
    privateJwk: { ...(await webcrypto.subtle.exportKey('jwk', pair.privateKey as webcrypto.CryptoKey)) },
    publicJwk: { ...(await webcrypto.subtle.exportKey('jwk', pair.publicKey as webcrypto.CryptoKey)) },
  };
}

/** A proof maker for one connection's key; the private key is imported non-extractable. */
export async function dpopHandle(key: DpopKey): Promise<oauth.DPoPHandle> {
  const privateKey = await webcrypto.subtle.importKey('jwk', key.privateJwk as webcrypto.JsonWebKey, ES256_IMPORT, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('jwk', key.publicJwk as webcrypto.JsonWebKey, ES256_IMPORT, true, ['verify']);
  return oauth.DPoP({}, { privateKey, publicKey } as oauth.CryptoKeyPair);
}
