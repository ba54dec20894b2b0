import { buildAccessTokenRequest } from '../../../src/oauth/oauth1/access-token';
import { buildRequestTokenRequest } from '../../../src/oauth/oauth1/request-token';
import { buildSignedRequest, OAuth1ClientConfig } from '../../../src/oauth/oauth1/signed-request';

const photos: OAuth1ClientConfig = { consumerKey: 'dpf43f3p2l4k3l03', consumerSecret: 'kd94hf93k423kf44', signatureMethod: 'HMAC-SHA1' };
const fixed = { nonce: 'chapoH', timestamp: '137131202', includeVersion: false };
const token = { token: 'nnch734d00sl2jdk', tokenSecret: 'pfkkdhi9sl3r4s00' };

describe('buildSignedRequest placements (RFC 5849 §3.5)', () => {
  it('header: the RFC §1.2 GET /photos request, with realm', () => {
    const request = buildSignedRequest({ ...photos, realm: 'Photos' }, { method: 'GET', url: 'http://photos.example.net/photos?file=vacation.jpg&size=original', token }, fixed);
    expect(request).toEqual({
      url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
      method: 'GET',
      headers: {
        Authorization:
          'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_nonce="chapoH", oauth_signature_method="HMAC-SHA1", ' +
          'oauth_timestamp="137131202", oauth_token="nnch734d00sl2jdk", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D"',
      },
      body: undefined,
      signatureBaseString: expect.stringMatching(/^GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg/),
    });
  });

  it('header: replaces any Authorization the caller passed, whatever its case', () => {
    const request = buildSignedRequest(photos, { method: 'GET', url: 'http://photos.example.net/photos', headers: { authorization: 'Bearer x' }, token }, fixed);
    expect(Object.keys(request.headers)).toEqual(['Authorization']);
  });

  it('query: appends the protocol parameters after the existing query, same signature', () => {
    const request = buildSignedRequest({ ...photos, placement: 'query' }, { method: 'GET', url: 'http://photos.example.net/photos?file=vacation.jpg&size=original#top', token }, fixed);
    expect(request.url).toBe(
      'http://photos.example.net/photos?file=vacation.jpg&size=original&oauth_consumer_key=dpf43f3p2l4k3l03&oauth_nonce=chapoH' +
        '&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131202&oauth_token=nnch734d00sl2jdk&oauth_signature=MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D',
    );
    expect(request.headers).toEqual({});
  });

  it('body: appends to a form body and signs its parameters (the X example)', () => {
    const request = buildSignedRequest(
      { consumerKey: 'xvz1evFS4wEEPTGEFPHBog', consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', signatureMethod: 'HMAC-SHA1', placement: 'body' },
      {
        method: 'POST',
        url: 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from('status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21'),
        token: { token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb', tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE' },
      },
      { nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg', timestamp: '1318622958' },
    );
    expect(request.body).toBe(
      'status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21&oauth_consumer_key=xvz1evFS4wEEPTGEFPHBog' +
        '&oauth_nonce=kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg&oauth_signature_method=HMAC-SHA1&oauth_timestamp=1318622958' +
        '&oauth_token=370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb&oauth_version=1.0&oauth_signature=hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D',
    );
  });

  it('body: without a body, sends the protocol parameters as a new form body', () => {
    const request = buildRequestTokenRequest(
      { client: { ...photos, placement: 'body' }, requestTokenUrl: 'https://photos.example.net/initiate', callbackUrl: 'http://printer.example.com/ready' },
      { nonce: 'wIjqoS', timestamp: '137131200', includeVersion: false },
    );
    expect(request.headers).toEqual({ 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(request.body).toContain('oauth_signature=74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D');
  });

  it('when the body is not form-encoded, then it is not signed', () => {
    const json = buildSignedRequest(photos, { method: 'POST', url: 'http://example.com/r', headers: { 'Content-Type': 'application/json' }, body: 'a=1' }, fixed);
    const form = buildSignedRequest(photos, { method: 'POST', url: 'http://example.com/r', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=1' }, fixed);
    expect(json.signatureBaseString).not.toContain('a%3D1');
    expect(form.signatureBaseString).toContain('a%3D1');
  });

  it.each([
    [{ method: 'GET' as const, url: 'http://example.com/r' }, 'OAuth 1.0a body placement cannot be used with GET'],
    [{ method: 'POST' as const, url: 'http://example.com/r', headers: { 'content-type': 'application/json' }, body: '{}' }, 'OAuth 1.0a body placement needs an application/x-www-form-urlencoded body'],
    [{ method: 'POST' as const, url: 'http://example.com/r', body: 'a=1' }, 'OAuth 1.0a body placement needs an application/x-www-form-urlencoded body'],
  ])('body placement refuses %j', (input, message) => {
    expect(() => buildSignedRequest({ ...photos, placement: 'body' }, input, fixed)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message }));
  });
});

describe('three-leg request builders', () => {
  it('request token: POST with oauth_callback, RFC §1.2 signature', () => {
    const request = buildRequestTokenRequest(
      { client: photos, requestTokenUrl: 'https://photos.example.net/initiate', callbackUrl: 'http://printer.example.com/ready' },
      { nonce: 'wIjqoS', timestamp: '137131200', includeVersion: false },
    );
    expect(request.method).toBe('POST');
    expect(request.headers.Authorization).toContain('oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready"');
    expect(request.headers.Authorization).toContain('oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"');
  });

  it('access token: POST with oauth_token and oauth_verifier, RFC §1.2 signature', () => {
    const request = buildAccessTokenRequest(
      {
        client: photos,
        accessTokenUrl: 'https://photos.example.net/token',
        temporaryCredentials: { token: 'hh5s93j4hdidpola', tokenSecret: 'hdhd0244k9j7ao03' },
        verifier: 'hfdp7dh39dks9884',
      },
      { nonce: 'walatlh', timestamp: '137131201', includeVersion: false },
    );
    expect(request.headers.Authorization).toContain('oauth_verifier="hfdp7dh39dks9884"');
    expect(request.headers.Authorization).toContain('oauth_signature="gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D"');
  });

  it('GET is used when the provider documents it', () => {
    const request = buildRequestTokenRequest({ client: photos, requestTokenUrl: 'https://x.example/rt', callbackUrl: 'oob', method: 'GET' });
    expect(request.method).toBe('GET');
    expect(request.signatureBaseString.startsWith('GET&')).toBe(true);
  });
});
