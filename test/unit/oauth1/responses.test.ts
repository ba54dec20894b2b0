import { parseAccessTokenResponse } from '../../../src/oauth/oauth1/access-token';
import { parseRequestTokenResponse } from '../../../src/oauth/oauth1/request-token';
import type { HttpResponse } from '../../../src/oauth/http';

const response = (status: number, body: string, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: Buffer.from(body),
});

describe('parseRequestTokenResponse', () => {
  it('returns the temporary credentials of the RFC 5849 §2.1 example', () => {
    expect(parseRequestTokenResponse(response(200, 'oauth_token=hdk48Djdsa&oauth_token_secret=xyz4992k83j47x0b&oauth_callback_confirmed=true'))).toEqual({
      token: 'hdk48Djdsa',
      tokenSecret: 'xyz4992k83j47x0b',
      additionalParameters: {},
    });
  });

  it.each([
    ['oauth_token=a&oauth_token_secret=b', 'missing'],
    ['oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=false', 'false'],
    ['oauth_token=a&oauth_token_secret=b&oauth_callback_confirmed=true&oauth_callback_confirmed=true', 'repeated'],
  ])('when oauth_callback_confirmed is %s (%s), then OAUTH_CALLBACK_NOT_CONFIRMED', (body) => {
    expect(() => parseRequestTokenResponse(response(200, body))).toThrow(
      expect.objectContaining({
        code: 'OAUTH_CALLBACK_NOT_CONFIRMED',
        message: 'Provider did not confirm the callback (oauth_callback_confirmed is not "true")',
      }),
    );
  });
});

describe('parseAccessTokenResponse', () => {
  it('returns token credentials and keeps extra parameters (X returns user_id and screen_name)', () => {
    expect(parseAccessTokenResponse(response(200, 'oauth_token=nnch734d00sl2jdk&oauth_token_secret=pfkkdhi9sl3r4s00&user_id=6253282&screen_name=twitterapi\n'))).toEqual({
      token: 'nnch734d00sl2jdk',
      tokenSecret: 'pfkkdhi9sl3r4s00',
      additionalParameters: { user_id: '6253282', screen_name: 'twitterapi' },
    });
  });

  it.each([
    ['', 'the body is empty'],
    ['   ', 'the body is empty'],
    ['<!DOCTYPE html><html>oauth_token=a</html>', 'the body is markup, not form-encoded'],
    ['oauth_token_secret=b', '"oauth_token" is missing'],
    ['oauth_token=a', '"oauth_token_secret" is missing'],
    ['oauth_token=a&oauth_token=c&oauth_token_secret=b', '"oauth_token" appears more than once'],
    ['oauth_token=a&oauth_token_secret=b&oauth_token_secret=d', '"oauth_token_secret" appears more than once'],
    ['oauth_token=&oauth_token_secret=b', '"oauth_token" is empty'],
    ['{"oauth_token":"a","oauth_token_secret":"b"}', '"oauth_token" is missing'],
  ])('when the body is %j, then OAUTH_INVALID_RESPONSE: %s', (body, reason) => {
    expect(() => parseAccessTokenResponse(response(200, body))).toThrow(
      expect.objectContaining({ code: 'OAUTH_INVALID_RESPONSE', message: `Provider's token credentials response is invalid: ${reason}` }),
    );
  });

  it('when the provider redirects, then OAUTH_INVALID_RESPONSE', () => {
    expect(() => parseAccessTokenResponse(response(302, ''))).toThrow(
      expect.objectContaining({ code: 'OAUTH_INVALID_RESPONSE', message: "Provider's token credentials response is invalid: the provider redirected (HTTP 302)" }),
    );
  });

  it.each([500, 502, 503, 429])('when the provider answers %i, then transient PROVIDER_UNAVAILABLE', (status) => {
    expect(() => parseAccessTokenResponse(response(status, 'oauth_token=secretlooking&oauth_token_secret=x'))).toThrow(
      expect.objectContaining({
        code: 'PROVIDER_UNAVAILABLE',
        transient: true,
        providerStatus: status,
        message: `Provider could not answer the token credentials request (HTTP ${status})`,
      }),
    );
  });

  it('when Retry-After is a number of seconds, then it is kept; an HTTP date is not parsed', () => {
    expect(() => parseAccessTokenResponse(response(503, '', { 'retry-after': '120' }))).toThrow(expect.objectContaining({ retryAfterSeconds: 120 }));
    expect(() => parseAccessTokenResponse(response(503, '', { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }))).toThrow(
      expect.objectContaining({ retryAfterSeconds: undefined }),
    );
  });

  it('when the provider refuses with oauth_problem, then OAUTH_PROVIDER_ERROR keeps problem and advice', () => {
    expect(() => parseAccessTokenResponse(response(401, 'oauth_problem=token_rejected&oauth_problem_advice=The%20token%20was%20used'))).toThrow(
      expect.objectContaining({
        code: 'OAUTH_PROVIDER_ERROR',
        transient: false,
        providerStatus: 401,
        providerError: 'token_rejected',
        providerErrorDescription: 'The token was used',
        message: 'Provider refused the token credentials request (HTTP 401: token_rejected)',
      }),
    );
  });

  it('when the provider refuses oauthlib-style (error, error_description), then those are kept', () => {
    expect(() => parseAccessTokenResponse(response(400, 'error=invalid_request&error_description=Invalid+timestamp+size'))).toThrow(
      expect.objectContaining({ code: 'OAUTH_PROVIDER_ERROR', providerError: 'invalid_request', providerErrorDescription: 'Invalid timestamp size' }),
    );
  });

  it('when the refusal body is HTML, JSON or empty, then only the status is reported', () => {
    for (const body of ['<html>oauth_problem=x</html>', '{"errors":[{"message":"Could not authenticate you."}]}', '']) {
      expect(() => parseAccessTokenResponse(response(401, body))).toThrow(
        expect.objectContaining({ code: 'OAUTH_PROVIDER_ERROR', providerError: undefined, message: 'Provider refused the token credentials request (HTTP 401)' }),
      );
    }
  });

  it('when the problem text is long or has control characters, then it is not echoed', () => {
    for (const problem of ['x'.repeat(201), 'bad%0Aline']) {
      expect(() => parseAccessTokenResponse(response(400, `oauth_problem=${problem}`))).toThrow(
        expect.objectContaining({ providerError: undefined, message: 'Provider refused the token credentials request (HTTP 400)' }),
      );
    }
  });
});
