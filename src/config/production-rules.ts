/**
 * Settings that are fine on a developer's machine and unsafe anywhere else. Outside local development
 * storage (see `readStorageSetting` in ./storage-setting.ts) the broker refuses to start with any of them, naming the
 * setting: plain-http public or return URLs (loopback hosts excepted), short or sample keys, an
 * operator key that is also a client key.
 */
import { BrokerError } from '../domain/errors';
import { type ClientKeyEntry, isHashedKey, parseKeyDigest } from './api-keys';
import { isLoopbackHostname } from './url-rules';

/** Shorter keys can be guessed or brute-forced against the digest; 32 characters of base64 is 192 bits. */
export const MIN_KEY_LENGTH = 32;

/** The keys shipped in local.settings.sample.json: public, so never valid outside development. */
export const SAMPLE_KEYS = ['demo-client-key-change-me', 'operator-key-change-me'] as const;

export interface ProductionInputs {
  /** Development storage, or the emulator account on loopback endpoints (./storage-setting.ts). */
  storageIsLocal: boolean;
  baseUrl: string;
  allowedReturnUrls: readonly URL[];
  /** BROKER_CLIENT_KEYS as written (plain keys are checked for length; `sha256:` digests cannot be). */
  clientKeysText: string;
  clientKeys: readonly ClientKeyEntry[];
  operatorKeyText?: string;
}

function refuse(setting: string, problem: string): BrokerError {
  return new BrokerError('CONFIG_INVALID', `${setting} ${problem} (refused outside local development storage)`, { details: { setting } });
}

const sampleDigests = SAMPLE_KEYS.map((key) => parseKeyDigest(key));

function checkKey(setting: string, key: string): void {
  const digest = parseKeyDigest(key);
  if (sampleDigests.some((sample) => sample.equals(digest))) throw refuse(setting, 'holds a key from local.settings.sample.json');
  if (!isHashedKey(key) && key.length < MIN_KEY_LENGTH) throw refuse(setting, `holds a key shorter than ${MIN_KEY_LENGTH} characters`);
}

function isPlainRemoteHttp(url: URL): boolean {
  return url.protocol === 'http:' && !isLoopbackHostname(url.hostname);
}

/** @throws BrokerError CONFIG_INVALID naming the first unsafe setting; nothing when storage is local. */
export function assertSafeOutsideDevelopment(inputs: ProductionInputs): void {
  if (inputs.storageIsLocal) return;
  if (isPlainRemoteHttp(new URL(inputs.baseUrl))) throw refuse('BROKER_BASE_URL', 'must use https (http only for loopback hosts)');
  if (inputs.allowedReturnUrls.some(isPlainRemoteHttp)) throw refuse('BROKER_ALLOWED_RETURN_URLS', 'must list https URLs only (http only for loopback hosts)');
  for (const item of inputs.clientKeysText.split(',')) {
    const colon = item.indexOf(':');
    if (colon > 0) checkKey('BROKER_CLIENT_KEYS', item.slice(colon + 1).trim());
  }
  if (inputs.operatorKeyText !== undefined) {
    checkKey('BROKER_OPERATOR_KEY', inputs.operatorKeyText);
    const operator = parseKeyDigest(inputs.operatorKeyText);
    if (inputs.clientKeys.some((entry) => entry.keyHash.equals(operator))) throw refuse('BROKER_OPERATOR_KEY', 'equals a client key in BROKER_CLIENT_KEYS');
  }
}
