import { expectsIdToken, idTokenCheck } from '../../../src/oauth/oauth2/endpoints';

const SERVER = { issuer: 'https://id.example', authorizationUrl: 'https://id.example/a', tokenUrl: 'https://id.example/t', jwksUrl: 'https://id.example/jwks' };

describe('when the ID Token is checked (no network)', () => {
  test('only with openid requested from a provider that has an issuer', () => {
    expect(expectsIdToken({ issuer: 'https://id.example' }, ['openid', 'email'])).toBe(true);
    expect(expectsIdToken({ issuer: 'https://id.example' }, ['email'])).toBe(false);
    expect(expectsIdToken({}, ['openid'])).toBe(false);
  });

  test('the check names the issuer, its keys, the client and the sealed nonce', () => {
    expect(idTokenCheck({ name: 'acme', issuer: SERVER.issuer }, SERVER, 'client-1', ['openid'], 'n-1'))
      .toEqual({ issuer: SERVER.issuer, jwksUrl: SERVER.jwksUrl, clientId: 'client-1', nonce: 'n-1' });
    expect(idTokenCheck({ name: 'acme' }, SERVER, 'client-1', ['openid'], 'n-1')).toBeUndefined();
  });

  test('when the issuer’s keys are unknown, then the exchange cannot check and fails closed, naming the field', () => {
    expect(() => idTokenCheck({ name: 'acme', issuer: SERVER.issuer }, { ...SERVER, jwksUrl: undefined }, 'client-1', ['openid'], 'n-1'))
      .toThrow(expect.objectContaining({ code: 'PROVIDER_METADATA_INVALID', message: 'provider "acme": discovered metadata "jwks_uri" is missing, and the definition does not set "jwksUrl"' }));
  });
});
