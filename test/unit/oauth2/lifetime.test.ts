import { jwtExpiry, tokenLifetime } from '../../../src/oauth/oauth2/lifetime';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const nowS = NOW.getTime() / 1000;
const jwt = (claims: object) => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');

describe('tokenLifetime without introspection (no network)', () => {
  test('expires_in wins over everything', async () => {
    expect(await tokenLifetime({ accessToken: jwt({ exp: nowS + 999 }), expiresIn: 60, hasRefreshToken: true, now: NOW, configuredSeconds: 7200 }))
      .toEqual({ expiresAt: '2026-01-01T00:01:00.000Z', source: 'expires_in' });
  });

  test('without expires_in, a JWT access token’s exp sets the expiry', async () => {
    expect(await tokenLifetime({ accessToken: jwt({ exp: nowS + 300 }), hasRefreshToken: false, now: NOW, configuredSeconds: 7200 }))
      .toEqual({ expiresAt: '2026-01-01T00:05:00.000Z', source: 'jwt_exp' });
  });

  test('a JWT whose exp is already past does not count; the configured lifetime applies', async () => {
    expect(await tokenLifetime({ accessToken: jwt({ exp: nowS - 1 }), hasRefreshToken: true, now: NOW, configuredSeconds: 7200 }))
      .toEqual({ expiresAt: '2026-01-01T02:00:00.000Z', source: 'configured' });
  });

  test('an opaque token with a refresh token and no configured lifetime gets the fallback', async () => {
    expect(await tokenLifetime({ accessToken: 'opaque', hasRefreshToken: true, now: NOW }))
      .toEqual({ expiresAt: '2026-01-01T01:00:00.000Z', source: 'fallback' });
  });

  test('an opaque token without a refresh token and without a stated lifetime is long-lived', async () => {
    expect(await tokenLifetime({ accessToken: 'opaque', hasRefreshToken: false, now: NOW, configuredSeconds: 7200 })).toEqual({ expiresAt: null });
  });
});

describe('jwtExpiry', () => {
  test.each([
    ['not three parts', 'a.b'],
    ['payload not base64url JSON', 'a.%%%.c'],
    ['payload not an object', ['e30', Buffer.from('7').toString('base64url'), 's'].join('.')],
    ['exp not a number', jwt({ exp: '123' })],
    ['no exp', jwt({ sub: 'x' })],
  ])('when the token has %s, then there is no exp', (_case, token) => {
    expect(jwtExpiry(token)).toBeUndefined();
  });

  test('reads a numeric exp', () => {
    expect(jwtExpiry(jwt({ exp: 1767225600 }))).toBe(1767225600);
  });
});
