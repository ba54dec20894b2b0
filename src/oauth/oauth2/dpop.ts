/**
 * DPoP (RFC 9449) keys: one P-256 key pair per connection. The private key is a secret like any
 * credential (sealed with the connection's credentials, never in durable history). Token-endpoint
 * proofs are made by oauth4webapi's DPoP handle; proofs for requests the broker sends itself (the
 * proxy's streamed forward, revocation, which the library sends without DPoP) by `dpopProof`.
 * Server nonces are remembered per provider and origin, so a nonce one connection was given
 * serves the next connection's first proof too.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
import { createHash, createPrivateKey, JsonWebKey, randomUUID, sign, webcrypto } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import type { DpopKey } from '../../storage/credentials';
import { HttpRequestSpec, SendOptions, sendHttpRequest } from '../http';
import { setNewest } from '../../domain/bounded-map';

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

/** The nonces one provider's servers handed out, by origin (the token endpoint and the API may differ). */
export interface ProviderNonces {
  get(origin: string): string | undefined;
  remember(origin: string, nonce: string): void;
}

/** Nonces this process keeps at most; an evicted one costs one `use_dpop_nonce` round trip. */
export const DPOP_NONCE_MAX_ENTRIES = 1_000;

/** Server nonces by provider: process memory (a nonce is no secret, and any answer may replace it). */
export class DpopNonceBook {
  private readonly nonces = new Map<string, string>();

  constructor(private readonly maxEntries = DPOP_NONCE_MAX_ENTRIES) {}

  for(provider: string): ProviderNonces {
    const keyOf = (origin: string) => `${provider}\u0000${origin}`;
    return {
      get: (origin) => this.nonces.get(keyOf(origin)),
      remember: (origin, nonce) => {
        setNewest(this.nonces, keyOf(origin), nonce, this.maxEntries);
      },
    };
  }
}


/**
 * A proof maker for one connection's key (the private key imported non-extractable); with `nonces`,
 * each proof carries the nonce last remembered for its target's origin.
 */
export async function dpopHandle(key: DpopKey, nonces?: ProviderNonces): Promise<oauth.DPoPHandle> {
  const privateKey = await webcrypto.subtle.importKey('jwk', key.privateJwk as webcrypto.JsonWebKey, ES256_IMPORT, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('jwk', key.publicJwk as webcrypto.JsonWebKey, ES256_IMPORT, true, ['verify']);
  const withRememberedNonce: oauth.ModifyAssertionFunction = (_header, payload) => {
    const nonce = nonces?.get(new URL(String(payload.htu)).origin);
    if (nonce) payload.nonce = nonce;
  };
  return oauth.DPoP({}, { privateKey, publicKey } as oauth.CryptoKeyPair, nonces ? { [oauth.modifyAssertion]: withRememberedNonce } : undefined);
}

/**
 * The transport with every `DPoP-Nonce` its answers carry remembered (RFC 9449 §8.2: a server may
 * send a fresh nonce on any answer, success included).
 */
export function rememberingNonces(transport: SendOptions, nonces: ProviderNonces): SendOptions {
  const send = transport.send ?? sendHttpRequest;
  return {
    ...transport,
    send: async (request: HttpRequestSpec, options?: SendOptions) => {
      const answer = await send(request, { ...options, send });
      rememberNonce(nonces, request.url, answer.headers['dpop-nonce']);
      return answer;
    },
  };
}

export function rememberNonce(nonces: ProviderNonces, url: string, nonce: string | string[] | undefined): void {
  const value = Array.isArray(nonce) ? nonce[nonce.length - 1] : nonce;
  if (value) nonces.remember(new URL(url).origin, value);
}

export interface ProofTarget {
  method: string;
  url: string;
  /** Present when the request carries this access token: the proof then binds it (`ath`). */
  accessToken?: string;
  nonce?: string;
}

/**
 * A DPoP proof JWT (RFC 9449 §4.2) for a request the broker sends itself: `htu` is the target
 * without query and fragment, `ath` the SHA-256 of the access token it presents.
 */
export function dpopProof(key: DpopKey, target: ProofTarget, now: Date): string {
  const url = new URL(target.url);
  const { kty, crv, x, y } = key.publicJwk;
  const header = { typ: 'dpop+jwt', alg: key.alg, jwk: { kty, crv, x, y } };
  const payload = {
    jti: randomUUID(),
    htm: target.method.toUpperCase(),
    htu: `${url.origin}${url.pathname}`,
    iat: Math.floor(now.getTime() / 1000),
    ...(target.nonce ? { nonce: target.nonce } : {}),
    ...(target.accessToken ? { ath: createHash('sha256').update(target.accessToken).digest('base64url') } : {}),
  };
  const signingInput = `${base64url(header)}.${base64url(payload)}`;
  const privateKey = createPrivateKey({ key: key.privateJwk as JsonWebKey, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * Whether an answer asks for a (new) nonce: `use_dpop_nonce` from an authorization server (400, in
 * the body) or a resource server (401, in `WWW-Authenticate`), with the nonce in `DPoP-Nonce`.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9
 */
export function asksForDpopNonce(status: number, headers: Record<string, string | string[] | undefined>, body?: Buffer): boolean {
  if (!headers['dpop-nonce']) return false;
  if (status === 401) return /\bDPoP\b[^]*\berror="?use_dpop_nonce"?/i.test(String(headers['www-authenticate'] ?? ''));
  if (status !== 400 || !body) return false;
  try {
    return (JSON.parse(body.toString('utf8')) as { error?: unknown }).error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Token-endpoint options for a connection: without a key, the transport as it is; with one, the
 * library's proof maker and a transport that remembers the provider's nonces.
 */
export async function dpopTokenOptions(key: DpopKey | undefined, nonces: ProviderNonces, transport: SendOptions): Promise<SendOptions & { dpop?: oauth.DPoPHandle }> {
  if (!key) return transport;
  return { ...rememberingNonces(transport, nonces), dpop: await dpopHandle(key, nonces) };
}

/** A proof maker for requests the broker sends itself, carrying the provider's remembered nonce. */
export function proofMaker(key: DpopKey, nonces: ProviderNonces, now: () => Date): (method: string, url: string, accessToken?: string) => string {
  return (method, url, accessToken) => dpopProof(key, { method, url, accessToken, nonce: nonces.get(new URL(url).origin) }, now());
}
