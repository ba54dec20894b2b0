import { createHash, timingSafeEqual } from 'node:crypto';
import { BrokerError } from '../domain/errors';

/** A client app's key, held only as its SHA-256 digest. */
export interface ClientKeyEntry {
  clientId: string;
  keyHash: Buffer;
}

const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HASHED_KEY = /^sha256:([0-9a-fA-F]{64})$/;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function configInvalid(message: string): BrokerError {
  return new BrokerError('CONFIG_INVALID', message);
}

/** True for a key written as its digest (`sha256:<64 hex>`), whose length cannot be known. */
export function isHashedKey(key: string): boolean {
  return HASHED_KEY.test(key);
}

/** Digest of a key written either in plain text or as `sha256:<64 hex>` (hashed at rest). */
export function parseKeyDigest(key: string): Buffer {
  const hashed = HASHED_KEY.exec(key);
  return hashed ? Buffer.from(hashed[1], 'hex') : sha256(key);
}

/**
 * Parses BROKER_CLIENT_KEYS: `app1:KEY1,app2:sha256:<hex>`. A client may appear more than once
 * (several valid keys while rotating); one key may not belong to two clients.
 */
export function parseClientKeys(value: string, setting = 'BROKER_CLIENT_KEYS'): ClientKeyEntry[] {
  const entries: ClientKeyEntry[] = [];
  for (const [index, raw] of value.split(',').entries()) {
    const item = raw.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    const clientId = colon < 0 ? item : item.slice(0, colon);
    const key = colon < 0 ? '' : item.slice(colon + 1);
    if (!CLIENT_ID_PATTERN.test(clientId)) {
      throw configInvalid(`${setting}: entry ${index + 1} has an invalid client id (letters, digits, "_", "-", "." up to 64)`);
    }
    if (key === '') throw configInvalid(`${setting}: client "${clientId}" has no key (expected "${clientId}:<key>")`);
    const keyHash = parseKeyDigest(key);
    const owner = entries.find((e) => e.keyHash.equals(keyHash) && e.clientId !== clientId);
    if (owner) throw configInvalid(`${setting}: clients "${owner.clientId}" and "${clientId}" share a key`);
    entries.push({ clientId, keyHash });
  }
  return entries;
}

/**
 * The client owning `presentedKey`, or undefined. Compares digests in constant time and always
 * checks every entry, so timing reveals neither the key nor which client matched.
 */
export function findClientByKey(entries: readonly ClientKeyEntry[], presentedKey: string | undefined): string | undefined {
  if (!presentedKey) return undefined;
  const digest = sha256(presentedKey);
  let match: string | undefined;
  for (const entry of entries) {
    if (timingSafeEqual(entry.keyHash, digest) && match === undefined) match = entry.clientId;
  }
  return match;
}

/** True when `presentedKey` hashes to `keyHash` (constant-time comparison). */
export function keyMatches(keyHash: Buffer | undefined, presentedKey: string | undefined): boolean {
  if (!keyHash || !presentedKey) return false;
  return timingSafeEqual(keyHash, sha256(presentedKey));
}
