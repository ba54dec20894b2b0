import { parseOAuth1Callback } from '../../../src/oauth/oauth1/callback';
import { buildAuthorizationUrl } from '../../../src/oauth/oauth1/authorize-url';

describe('parseOAuth1Callback', () => {
  it('returns token and verifier of the RFC 5849 §2.2 example, ignoring the client\'s own query', () => {
    expect(parseOAuth1Callback('x=1&oauth_token=hdk48Djdsa&oauth_verifier=473f82d3')).toEqual({
      outcome: 'authorized',
      oauthToken: 'hdk48Djdsa',
      oauthVerifier: '473f82d3',
    });
  });

  it('accepts URLSearchParams', () => {
    expect(parseOAuth1Callback(new URLSearchParams({ oauth_token: 't', oauth_verifier: 'v' }))).toMatchObject({ outcome: 'authorized' });
  });

  it('when X-style denied=<token> arrives, then the outcome is denied with that token', () => {
    expect(parseOAuth1Callback('denied=hdk48Djdsa')).toEqual({ outcome: 'denied', oauthToken: 'hdk48Djdsa', problem: 'access_denied' });
  });

  it('when oauth_problem arrives with oauth_token, then the outcome is denied with that problem', () => {
    expect(parseOAuth1Callback('oauth_token=t&oauth_problem=user_refused')).toEqual({ outcome: 'denied', oauthToken: 't', problem: 'user_refused' });
  });

  it.each([
    ['', 'OAuth 1.0a callback has no oauth_token'],
    ['oauth_verifier=v', 'OAuth 1.0a callback has no oauth_token'],
    ['oauth_token=&oauth_verifier=v', 'OAuth 1.0a callback has no oauth_token'],
    ['oauth_token=t', 'OAuth 1.0a callback has no oauth_verifier'],
    ['oauth_token=t&oauth_verifier=', 'OAuth 1.0a callback has no oauth_verifier'],
    ['oauth_token=t&oauth_token=u&oauth_verifier=v', 'OAuth 1.0a callback has oauth_token more than once'],
    ['oauth_token=t&oauth_verifier=v&oauth_verifier=w', 'OAuth 1.0a callback has oauth_verifier more than once'],
    ['denied=a&denied=b', 'OAuth 1.0a callback has denied more than once'],
    ['denied=', 'OAuth 1.0a callback has a denial without oauth_token or denied value'],
  ])('when the query is %j, then CALLBACK_INVALID: %s', (query, message) => {
    expect(() => parseOAuth1Callback(query)).toThrow(expect.objectContaining({ code: 'CALLBACK_INVALID', message }));
  });

  it('never puts parameter values in the message', () => {
    expect(() => parseOAuth1Callback('oauth_token=SECRETISH&oauth_token=OTHER&oauth_verifier=VERIFIER')).toThrow(
      expect.objectContaining({ message: expect.not.stringMatching(/SECRETISH|OTHER|VERIFIER/) }),
    );
  });
});

describe('buildAuthorizationUrl', () => {
  it('appends oauth_token (RFC 5849 §1.2)', () => {
    expect(buildAuthorizationUrl('https://photos.example.net/authorize', 'hh5s93j4hdidpola')).toBe(
      'https://photos.example.net/authorize?oauth_token=hh5s93j4hdidpola',
    );
  });

  it('keeps an existing query byte for byte and encodes added values', () => {
    expect(buildAuthorizationUrl('https://x.example/auth?force_login=true&a=b+c', 'tok/en=', { screen_name: 'a b' })).toBe(
      'https://x.example/auth?force_login=true&a=b+c&oauth_token=tok%2Fen%3D&screen_name=a%20b',
    );
  });

  it('when the URL is not absolute, then PROVIDER_INVALID', () => {
    expect(() => buildAuthorizationUrl('/authorize', 't')).toThrow(expect.objectContaining({ code: 'PROVIDER_INVALID' }));
  });
});
