import { BrokerError } from '../../../src/domain/errors';
import { parseListQuery, parseReauthorizeBody, parseStartConnectionBody } from '../../../src/http/validate';

function invalidField(run: () => unknown): { code: string; field: unknown; message: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    const broker = error as BrokerError;
    return { code: broker.code, field: broker.details?.field, message: broker.message };
  }
  throw new Error('expected a validation error');
}

describe('parseStartConnectionBody', () => {
  it('accepts the full contract body', () => {
    const body = {
      provider: 'acme',
      scopes: ['read', 'repo:status', 'https://www.googleapis.com/auth/drive'],
      connectionId: 'conn_1',
      endUserId: 'user@example.com',
      returnTo: 'https://app.example/done',
      metadata: { team: 'a', n: 1 },
    };
    expect(parseStartConnectionBody(body)).toEqual(body);
  });

  it('accepts grant client_credentials, and the default authorization_code grant adds nothing', () => {
    expect(parseStartConnectionBody({ provider: 'acme', grant: 'client_credentials', scopes: ['read'] })).toEqual({ provider: 'acme', grant: 'client_credentials', scopes: ['read'] });
    expect(parseStartConnectionBody({ provider: 'acme', grant: 'authorization_code' })).toEqual({ provider: 'acme' });
  });

  it.each([['password'], [''], [42]])('when the grant is %p, then INVALID_REQUEST naming "grant"', (grant) => {
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', grant }))).toMatchObject({ code: 'INVALID_REQUEST', field: 'grant' });
  });

  it.each([
    ['returnTo', 'https://app.example/done'],
    ['bindingChallenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'],
    ['onExistingAccount', 'add'],
  ])('when grant client_credentials comes with %s (an end user\'s, which it has none of), then INVALID_REQUEST naming it', (field, value) => {
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', grant: 'client_credentials', [field]: value }))).toMatchObject({ code: 'INVALID_REQUEST', field });
  });

  it('accepts grant device_code with an end user, and refuses the browser round trip fields', () => {
    expect(parseStartConnectionBody({ provider: 'acme', grant: 'device_code', endUserId: 'u' })).toEqual({ provider: 'acme', grant: 'device_code', endUserId: 'u' });
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', grant: 'device_code', returnTo: 'https://app.example/done' }))).toMatchObject({ code: 'INVALID_REQUEST', field: 'returnTo' });
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', grant: 'device_code', bindingChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM' }))).toMatchObject({ code: 'INVALID_REQUEST', field: 'bindingChallenge' });
  });

  it('accepts a body with the provider only, adding nothing', () => {
    expect(parseStartConnectionBody({ provider: 'acme' })).toEqual({ provider: 'acme' });
  });

  it('accepts onExistingAccount "add" or "update"; "update" needs an end user and may be session-bound', () => {
    expect(parseStartConnectionBody({ provider: 'acme', endUserId: 'u', onExistingAccount: 'update' })).toEqual({ provider: 'acme', endUserId: 'u', onExistingAccount: 'update' });
    expect(parseStartConnectionBody({ provider: 'acme', onExistingAccount: 'add' })).toEqual({ provider: 'acme', onExistingAccount: 'add' });
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', endUserId: 'u', onExistingAccount: 'replace' }))).toMatchObject({
      code: 'INVALID_REQUEST', field: 'onExistingAccount', message: expect.stringContaining('must be one of add, update'),
    });
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', onExistingAccount: 'update' }))).toMatchObject({ field: 'onExistingAccount', message: expect.stringContaining('needs an endUserId') });
    const bound = { provider: 'acme', endUserId: 'u', onExistingAccount: 'update', bindingChallenge: 'A'.repeat(43) };
    // The merge waits for POST …/complete (src/services/complete-connection.ts).
    expect(parseStartConnectionBody(bound)).toEqual(bound);
  });

  it.each([null, [], 'acme', 42])('when the body is %p, then INVALID_REQUEST', (body) => {
    expect(invalidField(() => parseStartConnectionBody(body)).code).toBe('INVALID_REQUEST');
  });

  it('when the body has an unknown field, then the error names it', () => {
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', clientSecret: 'x' }))).toMatchObject({
      code: 'INVALID_REQUEST',
      field: 'clientSecret',
    });
  });

  it.each([
    ['provider', { provider: '' }],
    ['provider', { provider: 7 }],
    ['provider', {}],
    ['scopes', { provider: 'acme', scopes: 'read' }],
    ['scopes', { provider: 'acme', scopes: [''] }],
    ['scopes', { provider: 'acme', scopes: ['read write'] }],
    ['scopes', { provider: 'acme', scopes: ['a"b'] }],
    ['scopes', { provider: 'acme', scopes: ['a\\b'] }],
    ['scopes', { provider: 'acme', scopes: ['a\u0001'] }],
    ['scopes', { provider: 'acme', scopes: [1] }],
    ['scopes', { provider: 'acme', scopes: ['s'.repeat(257)] }],
    ['scopes', { provider: 'acme', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }],
    ['connectionId', { provider: 'acme', connectionId: '' }],
    ['connectionId', { provider: 'acme', connectionId: 'a/b' }],
    ['connectionId', { provider: 'acme', connectionId: 'x'.repeat(129) }],
    ['connectionId', { provider: 'acme', connectionId: 12 }],
    ['endUserId', { provider: 'acme', endUserId: '' }],
    ['endUserId', { provider: 'acme', endUserId: 'a\nb' }],
    ['endUserId', { provider: 'acme', endUserId: 'u'.repeat(257) }],
    ['returnTo', { provider: 'acme', returnTo: '' }],
    ['returnTo', { provider: 'acme', returnTo: 5 }],
    ['metadata', { provider: 'acme', metadata: [] }],
    ['metadata', { provider: 'acme', metadata: null }],
    ['metadata', { provider: 'acme', metadata: 'text' }],
    ['metadata', { provider: 'acme', metadata: { blob: 'x'.repeat(4096) } }],
  ])('when "%s" is invalid (%p), then INVALID_REQUEST naming that field', (field, body) => {
    const error = invalidField(() => parseStartConnectionBody(body));
    expect(error).toMatchObject({ code: 'INVALID_REQUEST', field });
    expect(error.message.startsWith(`"${field}" `)).toBe(true);
  });

  it('accepts the limits themselves: 100 scopes of 256 characters, 256-character end user, 128-character id', () => {
    const body = {
      provider: 'acme',
      scopes: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(256, 's')),
      endUserId: 'u'.repeat(256),
      connectionId: 'c'.repeat(128),
    };
    expect(parseStartConnectionBody(body)).toEqual(body);
  });

  it('accepts metadata of exactly 4096 bytes of JSON and refuses 4097', () => {
    const exact = { v: 'x'.repeat(4096 - '{"v":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(exact))).toBe(4096);
    expect(parseStartConnectionBody({ provider: 'acme', metadata: exact }).metadata).toEqual(exact);
    expect(invalidField(() => parseStartConnectionBody({ provider: 'acme', metadata: { v: `${exact.v}x` } })).field).toBe('metadata');
  });
});

describe('parseListQuery', () => {
  it('defaults to 50 items and no filters', () => {
    expect(parseListQuery(new URLSearchParams())).toEqual({ top: 50, provider: undefined, status: undefined, endUserId: undefined, continuation: undefined });
  });

  it('reads every filter, the page size and the continuation', () => {
    const query = new URLSearchParams({ provider: 'acme', status: 'connected', endUserId: 'u1', top: '10', continuation: 'abc' });
    expect(parseListQuery(query)).toEqual({ provider: 'acme', status: 'connected', endUserId: 'u1', top: 10, continuation: 'abc' });
  });

  it('when a parameter is unknown, then INVALID_REQUEST naming it', () => {
    expect(invalidField(() => parseListQuery(new URLSearchParams('clientId=other')))).toMatchObject({ code: 'INVALID_REQUEST', field: 'clientId' });
  });

  it('when a parameter is repeated, then INVALID_REQUEST naming it', () => {
    expect(invalidField(() => parseListQuery(new URLSearchParams('status=connected&status=failed')))).toMatchObject({ field: 'status' });
  });

  it('when the status is not a connection status, then INVALID_REQUEST', () => {
    expect(invalidField(() => parseListQuery(new URLSearchParams('status=active')))).toMatchObject({ field: 'status' });
  });

  it.each(['0', '1001', '1.5', '-1', 'ten', ''])('when top is %p, then INVALID_REQUEST', (top) => {
    expect(invalidField(() => parseListQuery(new URLSearchParams({ top })))).toMatchObject({ field: 'top' });
  });

  it('accepts top from 1 to 1000', () => {
    expect(parseListQuery(new URLSearchParams('top=1')).top).toBe(1);
    expect(parseListQuery(new URLSearchParams('top=1000')).top).toBe(1000);
  });
});

describe('parseReauthorizeBody', () => {
  it('when the body names a provider (the successor), then it is kept beside the scopes', () => {
    expect(parseReauthorizeBody({ provider: 'garmin-oauth2', scopes: ['read'] })).toEqual({ provider: 'garmin-oauth2', scopes: ['read'] });
    expect(parseReauthorizeBody(undefined)).toEqual({});
  });

  it.each([[''], [7], [null]])('when the provider is %p, then INVALID_REQUEST names the field', (provider) => {
    expect(invalidField(() => parseReauthorizeBody({ provider }))).toEqual(expect.objectContaining({ code: 'INVALID_REQUEST', field: 'provider' }));
  });
});
