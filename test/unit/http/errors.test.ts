import { BrokerError, ERROR_CODES } from '../../../src/domain/errors';
import { errorBody, errorResponse, HTTP_STATUS_BY_CODE, statusForCode } from '../../../src/http/errors';

describe('error code → HTTP status mapping', () => {
  it('gives every error code a 4xx or 5xx status', () => {
    for (const code of ERROR_CODES) {
      const status = HTTP_STATUS_BY_CODE[code];
      expect({ code, ok: Number.isInteger(status) && status >= 400 && status <= 599 }).toEqual({ code, ok: true });
    }
  });

  it('maps no code that is not an error code', () => {
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each([
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN', 403],
    ['CONNECTION_NOT_FOUND', 404],
    ['CONNECTION_NOT_CONNECTED', 409],
    ['CONNECTION_REVOKED', 410],
    ['PAYLOAD_TOO_LARGE', 413],
    ['PROXY_PATH_REJECTED', 400],
    ['RETURN_URL_NOT_ALLOWED', 400],
    ['UPSTREAM_UNREACHABLE', 502],
    ['UPSTREAM_TIMEOUT', 504],
  ] as const)('the public contract status of %s is %i', (code, status) => {
    expect(statusForCode(code)).toBe(status);
  });
});

describe('errorResponse', () => {
  it('answers a BrokerError with its status, code and message as the contract JSON', () => {
    const response = errorResponse(new BrokerError('CONNECTION_REVOKED', 'connection "c1" was revoked'));
    expect(response.status).toBe(410);
    expect(response.jsonBody).toEqual({ error: { code: 'CONNECTION_REVOKED', message: 'connection "c1" was revoked' } });
    expect(response.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  });

  it('when the error is not a BrokerError, then it answers 500 INTERNAL and never shows its message', () => {
    for (const thrown of [new Error('db password=hunter2 at host'), new TypeError('x is undefined: access_token=abc'), 'a string with secret', { message: 'object secret' }, undefined]) {
      const response = errorResponse(thrown);
      expect(response.status).toBe(500);
      expect(response.jsonBody).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
      expect(JSON.stringify(response)).not.toMatch(/hunter2|access_token|secret/);
    }
  });

  it('does not reveal the cause of a BrokerError', () => {
    const response = errorResponse(new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { cause: new Error('AccountKey=topsecret') }));
    expect(JSON.stringify(response)).not.toContain('topsecret');
  });

  it('adds details of a BrokerError to the error object', () => {
    const response = errorResponse(new BrokerError('INVALID_REQUEST', '"scopes" must be an array', { details: { field: 'scopes' } }));
    expect(response.jsonBody).toEqual({ error: { code: 'INVALID_REQUEST', message: '"scopes" must be an array', field: 'scopes' } });
  });

  it('when details hold "code" or "message" keys, then the error code and message still win', () => {
    expect(errorBody('INVALID_REQUEST', 'the message', { code: 'OTHER', message: 'other', field: 'x' })).toEqual({
      error: { code: 'INVALID_REQUEST', message: 'the message', field: 'x' },
    });
  });

  it.each([
    ['PROVIDER_UNAVAILABLE', 502],
    ['STORAGE_UNAVAILABLE', 503],
    ['UPSTREAM_TIMEOUT', 504],
  ] as const)('marks the broker’s own %s (%i) with the x-broker-error header', (code, status) => {
    const response = errorResponse(new BrokerError(code, 'failed'));
    expect(response.status).toBe(status);
    expect(response.headers).toMatchObject({ 'x-broker-error': code });
  });

  it('does not send x-broker-error on client errors', () => {
    expect(errorResponse(new BrokerError('NOT_FOUND', 'no')).headers).not.toHaveProperty('x-broker-error');
  });

  it('when a server-side error carries Retry-After seconds, then the header is sent rounded up; a client error never sends it', () => {
    expect(errorResponse(new BrokerError('REFRESH_TIMEOUT', 'later', { retryAfterSeconds: 2.2 })).headers).toMatchObject({ 'retry-after': '3' });
    expect(errorResponse(new BrokerError('CONFLICT', 'busy', { retryAfterSeconds: 2 })).headers).not.toHaveProperty('retry-after');
  });
});
