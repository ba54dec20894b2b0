import { buildAuthorizationUrl } from '../../../src/oauth/oauth2/authorize-url';

const BASE = {
  authorizationUrl: 'https://id.acme.example/authorize',
  clientId: 'client 1',
  redirectUri: 'http://localhost:7071/api/callback/acme',
  scopes: ['read', 'write'],
  state: 'state-value',
};

describe('buildAuthorizationUrl', () => {
  test('sets the protocol parameters with scopes joined by a space and the S256 challenge', () => {
    const url = new URL(buildAuthorizationUrl({ ...BASE, codeChallenge: 'challenge' }));
    expect(url.origin + url.pathname).toBe('https://id.acme.example/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client 1',
      redirect_uri: 'http://localhost:7071/api/callback/acme',
      scope: 'read write',
      state: 'state-value',
      code_challenge: 'challenge',
      code_challenge_method: 'S256',
    });
  });

  test("joins scopes with the provider's separator", () => {
    const url = new URL(buildAuthorizationUrl({ ...BASE, scopeSeparator: ',' }));
    expect(url.searchParams.get('scope')).toBe('read,write');
  });

  test('when PKCE is off, then no challenge parameters are sent', () => {
    const url = new URL(buildAuthorizationUrl(BASE));
    expect(url.searchParams.has('code_challenge')).toBe(false);
    expect(url.searchParams.has('code_challenge_method')).toBe(false);
  });

  test('when there are no scopes, then the scope parameter is omitted', () => {
    expect(new URL(buildAuthorizationUrl({ ...BASE, scopes: [] })).searchParams.has('scope')).toBe(false);
  });

  test('keeps extra parameters and the query already in the authorization URL', () => {
    const url = new URL(buildAuthorizationUrl({
      ...BASE,
      authorizationUrl: 'https://id.acme.example/authorize?audience=api',
      extraParams: { access_type: 'offline', prompt: 'consent' },
    }));
    expect(url.searchParams.get('audience')).toBe('api');
    expect(url.searchParams.get('access_type')).toBe('offline');
    expect(url.searchParams.get('prompt')).toBe('consent');
  });

  test('when the configured URL already carries a protocol parameter, then the broker value replaces it', () => {
    const url = new URL(buildAuthorizationUrl({ ...BASE, authorizationUrl: 'https://id.acme.example/authorize?state=evil&response_type=token' }));
    expect(url.searchParams.getAll('state')).toEqual(['state-value']);
    expect(url.searchParams.getAll('response_type')).toEqual(['code']);
  });

  test('when the provider uses form_post, then response_mode=form_post is asked for; the default (query) sends nothing', () => {
    expect(new URL(buildAuthorizationUrl({ ...BASE, responseMode: 'form_post' })).searchParams.get('response_mode')).toBe('form_post');
    expect(new URL(buildAuthorizationUrl({ ...BASE, responseMode: 'query' })).searchParams.has('response_mode')).toBe(false);
    expect(new URL(buildAuthorizationUrl({ ...BASE, authorizationUrl: 'https://id.acme.example/authorize?response_mode=fragment' })).searchParams.has('response_mode')).toBe(false);
  });

  test.each(['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'response_mode'])(
    'when an extra parameter names %s, then it is refused with PROVIDER_INVALID',
    (name) => {
      expect(() => buildAuthorizationUrl({ ...BASE, codeChallenge: 'c', extraParams: { [name]: 'x' } })).toThrow(
        expect.objectContaining({ code: 'PROVIDER_INVALID' }),
      );
    },
  );
});

describe('OpenID Connect nonce', () => {
  test('when a nonce is given, then it is sent; provider authorizationParams may not set it', () => {
    expect(new URL(buildAuthorizationUrl({ ...BASE, nonce: 'n-1' })).searchParams.get('nonce')).toBe('n-1');
    expect(new URL(buildAuthorizationUrl(BASE)).searchParams.has('nonce')).toBe(false);
    expect(() => buildAuthorizationUrl({ ...BASE, extraParams: { nonce: 'fixed' } })).toThrow(expect.objectContaining({ code: 'PROVIDER_INVALID' }));
  });
});
