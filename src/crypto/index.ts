export { createKeyring, decrypt, encrypt, envelopeKeyId, openJson, sealJson } from './envelope';
export type { EncryptionKey, Keyring } from './envelope';
export { hashState, randomToken, timingSafeEqualString } from './tokens';
