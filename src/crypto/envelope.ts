import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BrokerError } from '../domain/errors';

/** A data-encryption key and the id stored beside the ciphertext (Key Vault secret version, or `local-…`). */
export interface EncryptionKey {
  keyId: string;
  key: Buffer;
}

/** The key to encrypt with, plus every key (current included) that may still decrypt, by id. */
export interface Keyring {
  current: EncryptionKey;
  byId: ReadonlyMap<string, Buffer>;
}

const VERSION = 'v1';
const IV_BYTES = 12; // 96-bit nonce, the size GCM is defined for (NIST SP 800-38D §5.2.1.1)
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function failed(message: string): BrokerError {
  return new BrokerError('DECRYPTION_FAILED', message);
}

/**
 * The header is bound into the GCM additional data together with the caller's `aad` (the
 * connection id), so neither the key id nor the row the envelope belongs to can be swapped.
 */
function additionalData(keyId: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}\n${aad}`, 'utf8');
}

/**
 * Encrypts with AES-256-GCM into `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts).
 *
 * @param aad additional authenticated data, e.g. the connection id; decrypt needs the same value.
 * @see https://nvlpubs.nist.gov/nistpubs/Legacy/SP/nistspecialpublication800-38d.pdf
 */
export function encrypt(plaintext: Buffer | string, key: EncryptionKey, aad: string): string {
  if (key.key.length !== KEY_BYTES) throw new BrokerError('INTERNAL', 'encryption key must be 32 bytes');
  if (!KEY_ID_PATTERN.test(key.keyId)) throw new BrokerError('INTERNAL', 'encryption key id must match [A-Za-z0-9_-]{1,64}');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(key.keyId, aad));
  const ciphertext = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
  return [VERSION, key.keyId, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/** The key id an envelope was sealed with (to fetch that key before decrypting). */
export function envelopeKeyId(envelope: string): string {
  const parts = envelope.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION || !KEY_ID_PATTERN.test(parts[1])) throw failed('not a v1 encryption envelope');
  return parts[1];
}

/**
 * Decrypts an envelope from {@link encrypt} with the key it names.
 *
 * @throws BrokerError DECRYPTION_FAILED on a malformed envelope, an unknown key id, a wrong key,
 *   a different `aad` or any tampering.
 */
export function decrypt(envelope: string, keyring: Keyring, aad: string): Buffer {
  const keyId = envelopeKeyId(envelope);
  const [, , ivPart, ciphertextPart, tagPart] = envelope.split('.');
  const key = keyring.byId.get(keyId);
  if (!key) throw new BrokerError('DECRYPTION_FAILED', `no encryption key with id "${keyId}"`, { details: { keyId } });
  const iv = Buffer.from(ivPart, 'base64url');
  const tag = Buffer.from(tagPart, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw failed('malformed encryption envelope');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId, aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertextPart, 'base64url')), decipher.final()]);
  } catch (error) {
    throw new BrokerError('DECRYPTION_FAILED', 'encrypted data failed authentication', { cause: error });
  }
}

/** Encrypts a JSON-serialisable value. */
export function sealJson(value: unknown, key: EncryptionKey, aad: string): string {
  return encrypt(JSON.stringify(value), key, aad);
}

/** Decrypts and parses a value sealed by {@link sealJson}; the type parameter is the caller's claim. */
export function openJson<T>(envelope: string, keyring: Keyring, aad: string): T {
  return JSON.parse(decrypt(envelope, keyring, aad).toString('utf8')) as T;
}

/** Builds a keyring from the current key and older ones (ids must differ). */
export function createKeyring(current: EncryptionKey, previous: readonly EncryptionKey[] = []): Keyring {
  const byId = new Map<string, Buffer>();
  for (const { keyId, key } of [current, ...previous]) if (!byId.has(keyId)) byId.set(keyId, key);
  return { current, byId };
}
