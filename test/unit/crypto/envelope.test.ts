import { randomBytes } from 'node:crypto';
import { createKeyring, decrypt, encrypt, envelopeKeyId, openJson, sealJson } from '../../../src/crypto';
import { hashState, randomToken, timingSafeEqualString } from '../../../src/crypto';
import { BrokerError } from '../../../src/domain/errors';

const keyA = { keyId: 'key-a', key: randomBytes(32) };
const keyB = { keyId: 'key-b', key: randomBytes(32) };

function expectDecryptionFailure(run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BrokerError);
  expect((caught as BrokerError).code).toBe('DECRYPTION_FAILED');
}

describe('AES-256-GCM envelope', () => {
  it('when sealed and opened with the same key and AAD, then the plaintext comes back', () => {
    const envelope = encrypt('refresh-token-value', keyA, 'conn-1');
    expect(decrypt(envelope, createKeyring(keyA), 'conn-1').toString('utf8')).toBe('refresh-token-value');
  });

  it('has a versioned compact format naming the key, with a 96-bit IV and 128-bit tag', () => {
    const envelope = encrypt(Buffer.from('plaintext-marker'), keyA, 'conn-1');
    const [version, keyId, iv, , tag] = envelope.split('.');
    expect([version, keyId]).toEqual(['v1', 'key-a']);
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
    expect(envelopeKeyId(envelope)).toBe('key-a');
    expect(envelope).not.toContain('plaintext-marker');
    expect(envelope).not.toContain(Buffer.from('plaintext-marker').toString('base64url'));
  });

  it('uses a fresh IV each time, so equal plaintexts give different envelopes', () => {
    expect(encrypt('same', keyA, 'c')).not.toBe(encrypt('same', keyA, 'c'));
  });

  it('when the AAD differs (another connection id), then DECRYPTION_FAILED', () => {
    const envelope = encrypt('secret', keyA, 'conn-1');
    expectDecryptionFailure(() => decrypt(envelope, createKeyring(keyA), 'conn-2'));
  });

  it('when the key behind the id is wrong, then DECRYPTION_FAILED', () => {
    const envelope = encrypt('secret', keyA, 'conn-1');
    expectDecryptionFailure(() => decrypt(envelope, createKeyring({ keyId: 'key-a', key: keyB.key }), 'conn-1'));
  });

  it('when the keyring lacks the key id, then DECRYPTION_FAILED naming the id', () => {
    const envelope = encrypt('secret', keyA, 'conn-1');
    expect(() => decrypt(envelope, createKeyring(keyB), 'conn-1')).toThrow('no encryption key with id "key-a"');
  });

  it.each([
    ['ciphertext', 3],
    ['tag', 4],
    ['iv', 2],
  ])('when the %s is tampered with, then DECRYPTION_FAILED', (_part, index) => {
    const parts = encrypt('some secret', keyA, 'conn-1').split('.');
    const bytes = Buffer.from(parts[index], 'base64url');
    bytes[0] ^= 1;
    parts[index] = bytes.toString('base64url');
    expectDecryptionFailure(() => decrypt(parts.join('.'), createKeyring(keyA), 'conn-1'));
  });

  it('when the key id in the header is swapped for another known key, then DECRYPTION_FAILED', () => {
    const parts = encrypt('some secret', keyA, 'conn-1').split('.');
    parts[1] = 'key-b';
    expectDecryptionFailure(() => decrypt(parts.join('.'), createKeyring(keyA, [keyB]), 'conn-1'));
  });

  it.each(['', 'v1.key-a', 'v2.key-a.a.b.c', 'not an envelope'])('when the envelope is malformed (%p), then DECRYPTION_FAILED', (envelope) => {
    expectDecryptionFailure(() => decrypt(envelope, createKeyring(keyA), 'c'));
  });

  it('after a rotation, old envelopes decrypt with the key they name and new ones use the current key', () => {
    const old = sealJson({ accessToken: 'old' }, keyA, 'conn-1');
    const rotated = createKeyring(keyB, [keyA]);
    const fresh = sealJson({ accessToken: 'new' }, rotated.current, 'conn-1');
    expect(openJson(old, rotated, 'conn-1')).toEqual({ accessToken: 'old' });
    expect(openJson(fresh, rotated, 'conn-1')).toEqual({ accessToken: 'new' });
    expect(envelopeKeyId(fresh)).toBe('key-b');
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => encrypt('x', { keyId: 'short', key: randomBytes(16) }, 'c')).toThrow('32 bytes');
  });
});

describe('state and token helpers', () => {
  it('hashState is the SHA-256 hex digest', () => {
    expect(hashState('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('timingSafeEqualString compares values of any length', () => {
    expect(timingSafeEqualString('state-1', 'state-1')).toBe(true);
    expect(timingSafeEqualString('state-1', 'state-2')).toBe(false);
    expect(timingSafeEqualString('short', 'a much longer value')).toBe(false);
  });

  it('randomToken gives base64url of the requested entropy, different each time', () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(randomToken(16), 'base64url')).toHaveLength(16);
    expect(randomToken()).not.toBe(token);
  });
});
