import { createHash, createPublicKey, verify } from 'node:crypto';
import { asksForDpopNonce, createDpopKey, DpopNonceBook, dpopProof } from '../../../src/oauth/oauth2/dpop';

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

describe('dpopProof', () => {
  test('when signing a request, then the proof verifies with its embedded public key and names the request and the token', async () => {
    const key = await createDpopKey();
    const now = new Date('2026-12-07T00:00:00Z');
    const proof = dpopProof(key, { method: 'post', url: 'https://api.example/v1/items?x=1#f', accessToken: 'token-1', nonce: 'n-1' }, now);
    const [headerPart, payloadPart, signature] = proof.split('.');
    const header = decode(headerPart);
    expect(header).toEqual({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: key.publicJwk.x, y: key.publicJwk.y } });
    expect(decode(payloadPart)).toEqual({
      jti: expect.any(String),
      htm: 'POST',
      htu: 'https://api.example/v1/items',
      iat: now.getTime() / 1000,
      nonce: 'n-1',
      ath: createHash('sha256').update('token-1').digest('base64url'),
    });
    const publicKey = createPublicKey({ key: header.jwk, format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))).toBe(true);
  });

  test('when no token is presented (revocation), then the proof has no ath, and each proof has its own jti', async () => {
    const key = await createDpopKey();
    const payloads = [1, 2].map(() => decode(dpopProof(key, { method: 'POST', url: 'https://id.example/revoke' }, new Date()).split('.')[1]));
    expect(payloads[0]).not.toHaveProperty('ath');
    expect(payloads[0]).not.toHaveProperty('nonce');
    expect(payloads[0].jti).not.toBe(payloads[1].jti);
  });
});

describe('asksForDpopNonce', () => {
  const nonce = { 'dpop-nonce': 'n-2' };
  test.each([
    ['an authorization server use_dpop_nonce', 400, nonce, '{"error":"use_dpop_nonce"}', true],
    ['a resource server challenge', 401, { ...nonce, 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"' }, undefined, true],
    ['a challenge without a nonce', 401, { 'www-authenticate': 'DPoP error="use_dpop_nonce"' }, undefined, false],
    ['another resource error', 401, { ...nonce, 'www-authenticate': 'DPoP error="invalid_token"' }, undefined, false],
    ['another token error', 400, nonce, '{"error":"invalid_grant"}', false],
    ['a body that is not JSON', 400, nonce, 'nope', false],
    ['a success carrying a fresh nonce', 200, nonce, '{}', false],
  ])('%s → %s', (_name, status, headers, body, expected) => {
    expect(asksForDpopNonce(status, headers, body === undefined ? undefined : Buffer.from(body))).toBe(expected);
  });
});

describe('DpopNonceBook', () => {
  test('when two providers share an origin, then each keeps its own nonce, and the oldest entry goes past the bound', () => {
    const book = new DpopNonceBook(2);
    book.for('a').remember('https://id.example', 'a-1');
    book.for('b').remember('https://id.example', 'b-1');
    expect(book.for('a').get('https://id.example')).toBe('a-1');
    expect(book.for('b').get('https://id.example')).toBe('b-1');
    book.for('a').remember('https://api.example', 'a-2');
    expect(book.for('a').get('https://id.example')).toBeUndefined();
    expect(book.for('a').get('https://api.example')).toBe('a-2');
  });
});
