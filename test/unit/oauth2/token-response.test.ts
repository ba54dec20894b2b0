import { BrokerError } from '../../../src/domain/errors';
import { parseRetryAfter } from '../../../src/oauth/oauth2/provider-error';
import { parseRevocationResponse, parseTokenResponse } from '../../../src/oauth/oauth2/token-response';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };
const REQUESTED = { requestedScopes: ['read', 'write'] };
const ACCESS_TOKEN = 'at-SECRET-1234567890';
const REFRESH_TOKEN = 'rt-SECRET-0987654321';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

function parseError(run: () => unknown): BrokerError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected a BrokerError');
}

function expectNoSecret(error: BrokerError) {
  for (const secret of [ACCESS_TOKEN, REFRESH_TOKEN, 'SECRET']) expect(error.message).not.toContain(secret);
}

describe('parseTokenResponse: success', () => {
  test('reads a full JSON answer', () => {
    const tokens = parseTokenResponse(200, JSON_HEADERS, json({
      access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600, refresh_token: REFRESH_TOKEN, scope: 'read', id_token: 'h.p.s',
    }), REQUESTED);
    expect(tokens).toEqual({
      accessToken: ACCESS_TOKEN, tokenType: 'Bearer', expiresIn: 3600, refreshToken: REFRESH_TOKEN, refreshTokenRotated: false, scopes: ['read'], idToken: 'h.p.s',
    });
  });

  test('reads a form-encoded answer (GitHub) with numeric-string expires_in and comma-separated scopes', () => {
    const body = `access_token=${ACCESS_TOKEN}&token_type=bearer&expires_in=28800&scope=repo%2Cgist&refresh_token=${REFRESH_TOKEN}`;
    const tokens = parseTokenResponse(200, FORM_HEADERS, body, { ...REQUESTED, scopeSeparator: ',' });
    expect(tokens).toEqual(expect.objectContaining({ tokenType: 'Bearer', expiresIn: 28800, scopes: ['repo', 'gist'], refreshToken: REFRESH_TOKEN }));
  });

  test('when the content type is missing or text/plain, then the body shape decides', () => {
    expect(parseTokenResponse(200, {}, json({ access_token: ACCESS_TOKEN }), REQUESTED).accessToken).toBe(ACCESS_TOKEN);
    expect(parseTokenResponse(200, { 'content-type': 'text/plain' }, `access_token=${ACCESS_TOKEN}`, REQUESTED).accessToken).toBe(ACCESS_TOKEN);
  });

  test.each([['bearer'], ['BEARER'], ['Bearer']])('token_type %s is normalised to Bearer', (tokenType) => {
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, token_type: tokenType }), REQUESTED).tokenType).toBe('Bearer');
  });

  test('when token_type is absent, then it is Bearer; another type is kept verbatim', () => {
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN }), REQUESTED).tokenType).toBe('Bearer');
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, token_type: 'DPoP' }), REQUESTED).tokenType).toBe('DPoP');
  });

  test('when expires_in is absent or null, then expiresIn is undefined; fractions round down', () => {
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN }), REQUESTED).expiresIn).toBeUndefined();
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, expires_in: null }), REQUESTED).expiresIn).toBeUndefined();
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, expires_in: '59.9' }), REQUESTED).expiresIn).toBe(59);
  });

  test('when scope is absent, then the requested scopes stand; when present, the granted ones replace them', () => {
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN }), REQUESTED).scopes).toEqual(['read', 'write']);
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, scope: 'read  admin ' }), REQUESTED).scopes).toEqual(['read', 'admin']);
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, scope: '' }), REQUESTED).scopes).toEqual([]);
    expect(parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, scope: ['a', 'b'] }), REQUESTED).scopes).toEqual(['a', 'b']);
  });

  test('when a refresh answer rotates the refresh token, then the new one replaces the old', () => {
    const tokens = parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, refresh_token: 'rt-new' }), { ...REQUESTED, previousRefreshToken: REFRESH_TOKEN });
    expect(tokens).toEqual(expect.objectContaining({ refreshToken: 'rt-new', refreshTokenRotated: true }));
  });

  test('when a refresh answer carries no refresh token, then the old one is kept', () => {
    const tokens = parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, refresh_token: null }), { ...REQUESTED, previousRefreshToken: REFRESH_TOKEN });
    expect(tokens).toEqual(expect.objectContaining({ refreshToken: REFRESH_TOKEN, refreshTokenRotated: false }));
  });

  test('when a refresh answer repeats the same refresh token, then it is not counted as rotated', () => {
    const tokens = parseTokenResponse(200, JSON_HEADERS, json({ access_token: ACCESS_TOKEN, refresh_token: REFRESH_TOKEN }), { ...REQUESTED, previousRefreshToken: REFRESH_TOKEN });
    expect(tokens.refreshTokenRotated).toBe(false);
  });
});

describe('parseTokenResponse: malformed answers → OAUTH_INVALID_RESPONSE', () => {
  test.each<[string, Record<string, string>, string | Buffer]>([
    ['an HTML page', { 'content-type': 'text/html' }, `<html><body>access_token=${ACCESS_TOKEN}</body></html>`],
    ['an empty body', JSON_HEADERS, ''],
    ['invalid JSON', JSON_HEADERS, `{"access_token":"${ACCESS_TOKEN}"`],
    ['a JSON array', JSON_HEADERS, json([ACCESS_TOKEN])],
    ['a JSON string', JSON_HEADERS, json(ACCESS_TOKEN)],
    ['JSON null', JSON_HEADERS, 'null'],
    ['plain text without parameters', { 'content-type': 'text/plain' }, `token ${ACCESS_TOKEN}`],
    ['a form body with a repeated parameter', FORM_HEADERS, `access_token=${ACCESS_TOKEN}&access_token=${REFRESH_TOKEN}`],
    ['no access_token', JSON_HEADERS, json({ token_type: 'Bearer', refresh_token: REFRESH_TOKEN })],
    ['an empty access_token', JSON_HEADERS, json({ access_token: '', token_type: 'Bearer' })],
    ['a numeric access_token', JSON_HEADERS, json({ access_token: 12345, token_type: 'Bearer' })],
    ['a non-string token_type', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, token_type: 1 })],
    ['an empty token_type', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, token_type: '' })],
    ['a non-numeric expires_in', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, expires_in: 'soon' })],
    ['a negative expires_in', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, expires_in: -1 })],
    ['a boolean expires_in', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, expires_in: true })],
    ['a non-string refresh_token', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, refresh_token: { value: REFRESH_TOKEN } })],
    ['an empty refresh_token', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, refresh_token: '' })],
    ['a numeric scope', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, scope: 7 })],
    ['a non-string id_token', JSON_HEADERS, json({ access_token: ACCESS_TOKEN, id_token: 7 })],
  ])('when the answer is %s, then OAUTH_INVALID_RESPONSE without secrets', (_label, headers, body) => {
    const error = parseError(() => parseTokenResponse(200, headers, body, { ...REQUESTED, previousRefreshToken: REFRESH_TOKEN }));
    expect(error.code).toBe('OAUTH_INVALID_RESPONSE');
    expect(error.transient).toBe(false);
    expect(error.providerStatus).toBe(200);
    expectNoSecret(error);
  });

  test('when the token endpoint redirects, then OAUTH_INVALID_RESPONSE', () => {
    const error = parseError(() => parseTokenResponse(302, { location: 'https://elsewhere.example/' }, '', REQUESTED));
    expect(error.code).toBe('OAUTH_INVALID_RESPONSE');
  });
});

describe('parseTokenResponse: error answers (RFC 6749 §5.2)', () => {
  test.each([
    ['invalid_grant', 400, 'OAUTH_INVALID_GRANT'],
    ['invalid_client', 401, 'OAUTH_INVALID_CLIENT'],
    ['unauthorized_client', 400, 'OAUTH_INVALID_CLIENT'],
    ['access_denied', 400, 'OAUTH_ACCESS_DENIED'],
    ['invalid_request', 400, 'OAUTH_PROVIDER_ERROR'],
    ['invalid_scope', 400, 'OAUTH_PROVIDER_ERROR'],
    ['unsupported_grant_type', 400, 'OAUTH_PROVIDER_ERROR'],
  ])('when the provider answers %s (HTTP %i), then %s keeping error, description and status', (oauthError, status, code) => {
    const error = parseError(() => parseTokenResponse(status, JSON_HEADERS, json({ error: oauthError, error_description: 'why it failed' }), REQUESTED));
    expect(error).toEqual(expect.objectContaining({
      code, transient: false, providerError: oauthError, providerErrorDescription: 'why it failed', providerStatus: status,
    }));
  });

  test('when a form-encoded error comes with HTTP 200 (GitHub), then it is still an error', () => {
    const error = parseError(() => parseTokenResponse(200, FORM_HEADERS, 'error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.', REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'OAUTH_INVALID_GRANT', providerError: 'bad_verification_code', providerErrorDescription: 'The code passed is incorrect or expired.' }));
  });

  test('when the error value is not an RFC 6749 error code, then the answer is not read as an error', () => {
    const error = parseError(() => parseTokenResponse(400, JSON_HEADERS, json({ error: 'bad"quote' }), REQUESTED));
    expect(error.code).toBe('OAUTH_PROVIDER_ERROR');
    expect(error.providerError).toBeUndefined();
  });

  test('when a 401 has no error body, then OAUTH_INVALID_CLIENT', () => {
    expect(parseError(() => parseTokenResponse(401, {}, '', REQUESTED)).code).toBe('OAUTH_INVALID_CLIENT');
  });

  test('when a 4xx has an HTML body, then OAUTH_PROVIDER_ERROR with the status and no body in the message', () => {
    const error = parseError(() => parseTokenResponse(404, { 'content-type': 'text/html' }, `<h1>${ACCESS_TOKEN}</h1>`, REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'OAUTH_PROVIDER_ERROR', providerStatus: 404, transient: false }));
    expectNoSecret(error);
  });

  test.each([500, 502, 503, 504])('when the provider answers %i, then PROVIDER_UNAVAILABLE transient', (status) => {
    const error = parseError(() => parseTokenResponse(status, { 'content-type': 'text/html' }, '<h1>down</h1>', REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, providerStatus: status }));
  });

  test('when the provider answers 429 with Retry-After seconds, then they are kept', () => {
    const error = parseError(() => parseTokenResponse(429, { 'retry-after': '30' }, '', REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, retryAfterSeconds: 30 }));
  });

  test('when Retry-After is an HTTP date, then it becomes seconds from now', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    const error = parseError(() => parseTokenResponse(503, { 'retry-after': 'Wed, 01 Jan 2025 00:01:30 GMT' }, '', { ...REQUESTED, now }));
    expect(error.retryAfterSeconds).toBe(90);
  });

  test('when a 503 carries an OAuth error body, then the provider error is kept', () => {
    const error = parseError(() => parseTokenResponse(503, JSON_HEADERS, json({ error: 'temporarily_unavailable' }), REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', providerError: 'temporarily_unavailable', transient: true }));
  });

  test('when a 400 says temporarily_unavailable, then it is transient', () => {
    const error = parseError(() => parseTokenResponse(400, JSON_HEADERS, json({ error: 'temporarily_unavailable' }), REQUESTED));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true }));
  });

  test('when the provider answers 408, then PROVIDER_TIMEOUT transient', () => {
    expect(parseError(() => parseTokenResponse(408, {}, '', REQUESTED))).toEqual(expect.objectContaining({ code: 'PROVIDER_TIMEOUT', transient: true }));
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2025-01-01T00:00:00Z');
  test.each<[string | undefined, number | undefined]>([
    ['120', 120],
    [' 5 ', 5],
    ['Wed, 01 Jan 2025 00:00:10 GMT', 10],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    [undefined, undefined],
  ])('%p → %p', (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });
});

describe('parseRevocationResponse (RFC 7009)', () => {
  test('200 with an empty body is success', () => {
    expect(parseRevocationResponse(200, {}, '')).toBeUndefined();
  });

  test('when the provider answers 503 with Retry-After, then PROVIDER_UNAVAILABLE transient with the seconds', () => {
    const error = parseError(() => parseRevocationResponse(503, { 'retry-after': '12' }, ''));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, retryAfterSeconds: 12, providerStatus: 503 }));
  });

  test.each([
    ['invalid_client', 401, 'OAUTH_INVALID_CLIENT'],
    ['unsupported_token_type', 400, 'OAUTH_PROVIDER_ERROR'],
    ['invalid_request', 400, 'OAUTH_PROVIDER_ERROR'],
  ])('when the provider answers %s, then %s', (oauthError, status, code) => {
    const error = parseError(() => parseRevocationResponse(status, JSON_HEADERS, json({ error: oauthError })));
    expect(error).toEqual(expect.objectContaining({ code, providerError: oauthError, providerStatus: status, transient: false }));
  });

  test('when a 4xx has no OAuth error, then OAUTH_PROVIDER_ERROR', () => {
    expect(parseError(() => parseRevocationResponse(404, { 'content-type': 'text/html' }, '<p>no</p>')).code).toBe('OAUTH_PROVIDER_ERROR');
  });
});
