import { redact, redactText, REDACTED } from '../../src/logging/redact';
import { BrokerError } from '../../src/domain/errors';

describe('redact', () => {
  it('when an object holds token fields at any depth, then their values are replaced and the input is untouched', () => {
    const input = {
      connectionId: 'c-1',
      tokens: { access_token: 'at-123', refresh_token: 'rt-456', id_token: 'idt', token_type: 'Bearer', expires_in: 3600 },
      list: [{ client_secret: 'cs' }, { code_verifier: 'cv', oauth_token_secret: 'ots' }],
      accessToken: 'camel-at',
      githubClientSecret: 'gh',
    };
    const out = redact(input) as typeof input;
    expect(out).toEqual({
      connectionId: 'c-1',
      tokens: { access_token: REDACTED, refresh_token: REDACTED, id_token: REDACTED, token_type: 'Bearer', expires_in: 3600 },
      list: [{ client_secret: REDACTED }, { code_verifier: REDACTED, oauth_token_secret: REDACTED }],
      accessToken: REDACTED,
      githubClientSecret: REDACTED,
    });
    expect(input.tokens.access_token).toBe('at-123');
  });

  it('redacts credential headers, cookies, API keys, state and codes', () => {
    expect(
      redact({
        headers: { Authorization: 'Bearer abc', 'x-api-key': 'k', Cookie: 'sid=1', 'Proxy-Authorization': 'Basic x', Accept: 'json' },
        state: 's',
        code: 'auth-code-Xy9',
        password: 'p',
      }),
    ).toEqual({
      headers: { Authorization: REDACTED, 'x-api-key': REDACTED, Cookie: REDACTED, 'Proxy-Authorization': REDACTED, Accept: 'json' },
      state: REDACTED,
      code: REDACTED,
      password: REDACTED,
    });
  });

  it('keeps error codes under "code" (upper-case identifiers) but hides authorization codes', () => {
    expect(redact({ code: 'OAUTH_INVALID_GRANT' })).toEqual({ code: 'OAUTH_INVALID_GRANT' });
    expect(redact({ code: 'ECONNRESET' })).toEqual({ code: 'ECONNRESET' });
    expect(redact({ code: 'SplxlOBeZQQYbYS6WxSbIA' })).toEqual({ code: REDACTED });
  });

  it('when a string value is a URL or form body with secret parameters, then only those values are redacted', () => {
    expect(redact({ url: 'https://broker/api/callback/github?code=abc123&state=xyz&foo=bar' })).toEqual({
      url: `https://broker/api/callback/github?code=${REDACTED}&state=${REDACTED}&foo=bar`,
    });
    expect(redactText('grant_type=refresh_token&refresh_token=rt-1&client_id=app&client_secret=shh')).toBe(
      `grant_type=refresh_token&refresh_token=${REDACTED}&client_id=app&client_secret=${REDACTED}`,
    );
  });

  it('redacts secrets in free text: bearer credentials, header lines, JSON members, quoted OAuth 1.0a parameters', () => {
    expect(redactText('calling with Bearer eyJhbGciOi.abc-def_ghi now')).toBe(`calling with Bearer ${REDACTED} now`);
    expect(redactText('authorization: OAuth oauth_token="t", oauth_signature="s"\nnext')).toBe(`authorization: ${REDACTED}\nnext`);
    expect(redactText('body {"access_token":"at","token_type":"bearer","error":{"code":"UNAUTHORIZED"}}')).toBe(
      `body {"access_token":"${REDACTED}","token_type":"bearer","error":{"code":"UNAUTHORIZED"}}`,
    );
    expect(redactText('OAuth oauth_token="tok", oauth_verifier="ver", oauth_nonce="n"')).toBe(
      `OAuth oauth_token=${REDACTED}, oauth_verifier=${REDACTED}, oauth_nonce="n"`,
    );
    expect(redactText('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc/def==;EndpointSuffix=x')).toBe(
      `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${REDACTED};EndpointSuffix=x`,
    );
  });

  it('leaves ordinary text alone', () => {
    const text = 'OAuth provider answered 400 invalid_grant for connection c-1 (token endpoint, Basic auth)';
    expect(redactText(text)).toBe(text);
  });

  it('when the object has cycles, then they become [Circular] and shared objects are kept', () => {
    const shared = { name: 'shared' };
    const node: Record<string, unknown> = { shared, again: shared };
    node.self = node;
    expect(redact(node)).toEqual({ shared: { name: 'shared' }, again: { name: 'shared' }, self: '[Circular]' });
  });

  it('turns errors into plain data with redacted message, code and cause', () => {
    const error = new BrokerError('OAUTH_INVALID_GRANT', 'refresh failed for https://p/token?refresh_token=rt', {
      cause: new Error('Bearer abcdef rejected'),
    });
    const out = redact(error) as Record<string, unknown>;
    expect(out.name).toBe('BrokerError');
    expect(out.code).toBe('OAUTH_INVALID_GRANT');
    expect(out.message).toBe(`refresh failed for https://p/token?refresh_token=${REDACTED}`);
    expect((out.cause as Record<string, unknown>).message).toBe(`Bearer ${REDACTED} rejected`);
    expect(String(out.stack)).not.toContain('refresh_token=rt');
  });

  it('summarises buffers and copies Maps, Dates and primitives', () => {
    const date = new Date(0);
    expect(redact({ body: Buffer.from('secret bytes'), at: date, n: 1, ok: true, nothing: null })).toEqual({
      body: '[binary 12 bytes]',
      at: date,
      n: 1,
      ok: true,
      nothing: null,
    });
    expect(redact(new Map([['refresh_token', 'rt'], ['scope', 'a b']]))).toEqual({ refresh_token: REDACTED, scope: 'a b' });
  });
});

describe('redactText with Basic credentials', () => {
  it('redacts a Basic credential', () => {
    expect(redactText('sent Basic YWxpY2U6c2VjcmV0 to the token endpoint')).toBe(`sent Basic ${REDACTED} to the token endpoint`);
  });
});
