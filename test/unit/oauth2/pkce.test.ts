import { codeChallengeS256, createCodeVerifier, createPkcePair } from '../../../src/oauth/oauth2/pkce';

describe('PKCE (RFC 7636)', () => {
  test('the S256 challenge matches the RFC 7636 Appendix B example', () => {
    expect(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  test('a default verifier is 43 unreserved characters and differs every time', () => {
    const verifiers = new Set(Array.from({ length: 50 }, () => createCodeVerifier()));
    expect(verifiers.size).toBe(50);
    for (const verifier of verifiers) expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  test('a 96-byte verifier reaches the 128-character maximum', () => {
    expect(createCodeVerifier(96)).toHaveLength(128);
  });

  test.each([31, 97, 32.5])('when asked for %p random bytes, then it refuses', (bytes) => {
    expect(() => createCodeVerifier(bytes)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  test.each([['too short', 'a'.repeat(42)], ['too long', 'a'.repeat(129)], ['reserved character', `${'a'.repeat(42)}+`]])(
    'when the verifier is %s, then no challenge is computed',
    (_label, verifier) => {
      expect(() => codeChallengeS256(verifier)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    },
  );

  test('a pair carries the S256 challenge of its verifier', () => {
    const pair = createPkcePair();
    expect(pair).toEqual({ codeVerifier: pair.codeVerifier, codeChallenge: codeChallengeS256(pair.codeVerifier), codeChallengeMethod: 'S256' });
  });
});
