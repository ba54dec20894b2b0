import { envelopeKeyId, openJson, sealJson } from '../crypto';
import type { Keyring } from '../crypto/envelope';

/** What storage needs from encryption: seal a JSON value bound to an id (AAD), and open it again. */
export interface Sealer {
  /** AES-256-GCM envelope of `JSON.stringify(value)` with `aad` bound; records the key id. */
  seal(value: unknown, aad: string): Promise<{ envelope: string; keyId: string }>;
  open<T>(envelope: string, aad: string): Promise<T>;
}

/** The sealer over a keyring source: seals with the current key, opens with the key the envelope names. */
export function createSealer(keys: { getEncryptionKeys(options?: { including?: string }): Promise<Keyring> }): Sealer {
  return {
    async seal(value, aad) {
      const keyring = await keys.getEncryptionKeys();
      return { envelope: sealJson(value, keyring.current, aad), keyId: keyring.current.keyId };
    },
    async open<T>(envelope: string, aad: string): Promise<T> {
      const keyring = await keys.getEncryptionKeys({ including: envelopeKeyId(envelope) });
      return openJson<T>(envelope, keyring, aad);
    },
  };
}
