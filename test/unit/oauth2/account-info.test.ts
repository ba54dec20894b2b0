import { buildAccountInfoRequest, parseAccountInfoResponse } from '../../../src/oauth/oauth2/account-info';

const endpoint = { url: 'https://api.acme.example/v1/user', subjectField: 'data.id', nameField: 'data.login', emailField: 'email' };
const body = (json: unknown) => Buffer.from(JSON.stringify(json));

describe('the user endpoint naming who connected', () => {
  it('sends the access token as a Bearer token (any case of token_type) and asks for JSON', () => {
    expect(buildAccountInfoRequest(endpoint, 'at-1', 'bearer')).toEqual({
      url: endpoint.url,
      method: 'GET',
      headers: { authorization: 'Bearer at-1', accept: 'application/json' },
    });
  });

  it('reads the named fields, dotted paths included; numeric ids become decimal strings; the issuer defaults to the endpoint origin', () => {
    expect(parseAccountInfoResponse(endpoint, undefined, 200, body({ data: { id: 583231, login: 'octocat' }, email: 'o@example.com' }))).toEqual({
      issuer: 'https://api.acme.example',
      subject: '583231',
      displayName: 'octocat',
      email: 'o@example.com',
    });
    expect(parseAccountInfoResponse(endpoint, 'https://id.acme.example', 200, body({ data: { id: 'u1' } }))).toEqual({ issuer: 'https://id.acme.example', subject: 'u1' });
  });

  it.each<[string, number, Buffer]>([
    ['a non-2xx answer', 401, body({ data: { id: 'u1' } })],
    ['a body that is not JSON', 200, Buffer.from('<html>')],
    ['no subject', 200, body({ data: { login: 'octocat' } })],
    ['an empty subject', 200, body({ data: { id: '' } })],
    ['a subject that is an object', 200, body({ data: { id: { value: 1 } } })],
    ['a path through an array', 200, body({ data: [{ id: 'u1' }] })],
  ])('when the answer has %s, then it names no account', (_case, status, answer) => {
    expect(parseAccountInfoResponse(endpoint, undefined, status, answer)).toBeUndefined();
  });
});
