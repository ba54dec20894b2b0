import { HttpRequest } from '@azure/functions';
import { BrokerError } from '../../../src/domain/errors';
import { connectionIdParam, MAX_JSON_BODY_BYTES, presentedKey, readJsonBody } from '../../../src/http/request';

function request(init: { headers?: Record<string, string>; body?: string; params?: Record<string, string> } = {}): HttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: 'http://127.0.0.1/api/connections',
    headers: init.headers,
    params: init.params,
    ...(init.body === undefined ? {} : { body: { string: init.body } }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected a rejection');
}

describe('presentedKey', () => {
  it('reads a Bearer key from Authorization, case-insensitively', () => {
    expect(presentedKey(request({ headers: { authorization: 'Bearer KEY-1' } }))).toBe('KEY-1');
    expect(presentedKey(request({ headers: { Authorization: 'bearer   KEY-2  ' } }))).toBe('KEY-2');
  });

  it('reads x-api-key when there is no Authorization header', () => {
    expect(presentedKey(request({ headers: { 'x-api-key': 'KEY-3' } }))).toBe('KEY-3');
  });

  it('when Authorization is not a single Bearer token, then no key is presented (x-api-key is not a fallback)', () => {
    expect(presentedKey(request({ headers: { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'KEY-3' } }))).toBeUndefined();
    expect(presentedKey(request({ headers: { authorization: 'Bearer two words' } }))).toBeUndefined();
    expect(presentedKey(request({ headers: { authorization: 'Bearer' } }))).toBeUndefined();
  });

  it('when no key header is sent, then no key is presented', () => {
    expect(presentedKey(request())).toBeUndefined();
  });
});

describe('readJsonBody', () => {
  it('parses a JSON body', async () => {
    await expect(readJsonBody(request({ body: '{"provider":"acme"}' }))).resolves.toEqual({ provider: 'acme' });
  });

  it('when the body is empty, then INVALID_JSON', async () => {
    expect((await rejection(readJsonBody(request({ body: '' })))).code).toBe('INVALID_JSON');
    expect((await rejection(readJsonBody(request()))).code).toBe('INVALID_JSON');
  });

  it('when the body is not JSON, then INVALID_JSON without echoing the body', async () => {
    const error = await rejection(readJsonBody(request({ body: '{"clientSecret": s3cr3t' })));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.message).toBe('the request body is not valid JSON');
  });

  it('when the body is larger than the limit, then PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ metadata: 'x'.repeat(MAX_JSON_BODY_BYTES) });
    expect((await rejection(readJsonBody(request({ body: big })))).code).toBe('PAYLOAD_TOO_LARGE');
    expect((await rejection(readJsonBody(request({ body: '{"a":12345}' }), 5))).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('when Content-Length declares more than the limit, then PAYLOAD_TOO_LARGE before reading', async () => {
    const error = await rejection(readJsonBody(request({ body: '{}', headers: { 'content-length': String(MAX_JSON_BODY_BYTES + 1) } })));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('accepts a body of exactly the limit', async () => {
    const body = `"${'x'.repeat(8)}"`;
    await expect(readJsonBody(request({ body }), Buffer.byteLength(body))).resolves.toBe('xxxxxxxx');
  });
});

describe('connectionIdParam', () => {
  it('returns a valid id', () => {
    expect(connectionIdParam(request({ params: { id: 'conn_1-A' } }))).toBe('conn_1-A');
    expect(connectionIdParam(request({ params: { id: 'a'.repeat(128) } }))).toBe('a'.repeat(128));
  });

  it.each([['missing', undefined], ['empty', ''], ['too long', 'a'.repeat(129)], ['with a slash', 'a/b'], ['with a dot', 'a.b'], ['with a space', 'a b'], ['with a quote', "a'b"]])(
    'when the id is %s, then CONNECTION_NOT_FOUND (same as an unknown id)',
    (_label, id) => {
      const params: Record<string, string> = id === undefined ? {} : { id };
      expect(() => connectionIdParam(request({ params }))).toThrow(expect.objectContaining({ code: 'CONNECTION_NOT_FOUND' }));
    },
  );
});
