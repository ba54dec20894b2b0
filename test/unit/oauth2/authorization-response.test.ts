import { BrokerError } from '../../../src/domain/errors';
import { parseAuthorizationResponse } from '../../../src/oauth/oauth2/authorization-response';

const CODE = 'code-SECRET-abc';

function callbackError(query: URLSearchParams | Record<string, string | string[] | undefined>): BrokerError {
  try {
    parseAuthorizationResponse(query);
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    return error as BrokerError;
  }
  throw new Error('expected CALLBACK_INVALID');
}

describe('parseAuthorizationResponse', () => {
  test('reads code, state and iss from URLSearchParams', () => {
    expect(parseAuthorizationResponse(new URLSearchParams({ code: CODE, state: 's', iss: 'https://id.example' }))).toEqual({
      kind: 'code', code: CODE, state: 's', issuer: 'https://id.example',
    });
  });

  test('reads a code from a record', () => {
    expect(parseAuthorizationResponse({ code: CODE, state: 's' })).toEqual({ kind: 'code', code: CODE, state: 's', issuer: undefined });
  });

  test('reads an error with its description and state', () => {
    expect(parseAuthorizationResponse(new URLSearchParams({ error: 'access_denied', error_description: 'User said no', state: 's' }))).toEqual({
      kind: 'error', error: 'access_denied', errorDescription: 'User said no', state: 's', issuer: undefined,
    });
  });

  test('an error without state is still an error answer', () => {
    expect(parseAuthorizationResponse({ error: 'server_error' })).toEqual(expect.objectContaining({ kind: 'error', error: 'server_error', state: undefined }));
  });

  test.each<[string, URLSearchParams | Record<string, string | string[] | undefined>]>([
    ['no code and no error', new URLSearchParams({ state: 's' })],
    ['a code without state', new URLSearchParams({ code: CODE })],
    ['an empty code', new URLSearchParams({ code: '', state: 's' })],
    ['an empty state', new URLSearchParams({ code: CODE, state: '' })],
    ['a repeated code', new URLSearchParams([['code', CODE], ['code', 'other'], ['state', 's']])],
    ['a repeated state', new URLSearchParams([['code', CODE], ['state', 's'], ['state', 't']])],
    ['a repeated error', { error: ['access_denied', 'server_error'], state: 's' }],
    ['a code and an error together', { code: CODE, error: 'access_denied', state: 's' }],
    ['a malformed error value', { error: 'bad"value', state: 's' }],
  ])('when the callback has %s, then CALLBACK_INVALID without the code in the message', (_label, query) => {
    const error = callbackError(query);
    expect(error.code).toBe('CALLBACK_INVALID');
    expect(error.message).not.toContain(CODE);
  });
});
