import { createHmac, createVerify, generateKeyPairSync } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import {
  authorizationHeaderValue,
  baseStringUri,
  generateNonce,
  normalizeParameters,
  OAuth1ConsumerCredentials,
  percentEncode,
  signatureBaseString,
  signOAuth1Request,
} from '../../../src/oauth/oauth1/sign';

/** Independent reference: RFC 5849 §3.4.2 HMAC-SHA1 over a base string, with nothing from the module. */
function referenceHmacSha1(baseString: string, consumerSecret: string, tokenSecret: string): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/[!*'()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return createHmac('sha1', `${enc(consumerSecret)}&${enc(tokenSecret)}`).update(baseString).digest('base64');
}

const photos: OAuth1ConsumerCredentials = {
  consumerKey: 'dpf43f3p2l4k3l03',
  consumerSecret: 'kd94hf93k423kf44',
  signatureMethod: 'HMAC-SHA1',
};

describe('RFC 5849 §1.2 (photos.example.net), signatures as printed in the RFC', () => {
  it('reproduces the temporary-credentials request: base string, signature and header', () => {
    const signed = signOAuth1Request(photos, {
      method: 'POST',
      url: 'https://photos.example.net/initiate',
      protocolParams: { oauth_callback: 'http://printer.example.com/ready' },
      nonce: 'wIjqoS',
      timestamp: '137131200',
      includeVersion: false,
    });
    expect(signed.baseString).toBe(
      'POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready' +
        '%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200',
    );
    // The RFC prints oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"; an independent HMAC agrees.
    expect(signed.signature).toBe('74KNZJeDHnMBp0EMJ9ZHt/XKycU=');
    expect(referenceHmacSha1(signed.baseString, 'kd94hf93k423kf44', '')).toBe(signed.signature);
    expect(authorizationHeaderValue(signed.oauthParams, 'Photos')).toBe(
      'OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_nonce="wIjqoS", oauth_signature_method="HMAC-SHA1", ' +
        'oauth_timestamp="137131200", oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready", oauth_signature="74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D"',
    );
  });

  it('reproduces the token-credentials request signature gKgrFCywp7rO0OXSjdot/IHF7IU=', () => {
    const signed = signOAuth1Request(photos, {
      method: 'POST',
      url: 'https://photos.example.net/token',
      token: { token: 'hh5s93j4hdidpola', tokenSecret: 'hdhd0244k9j7ao03' },
      protocolParams: { oauth_verifier: 'hfdp7dh39dks9884' },
      nonce: 'walatlh',
      timestamp: '137131201',
      includeVersion: false,
    });
    expect(signed.baseString).toBe(
      'POST&https%3A%2F%2Fphotos.example.net%2Ftoken&oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dwalatlh' +
        '%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dhh5s93j4hdidpola%26oauth_verifier%3Dhfdp7dh39dks9884',
    );
    expect(signed.signature).toBe('gKgrFCywp7rO0OXSjdot/IHF7IU=');
    expect(referenceHmacSha1(signed.baseString, 'kd94hf93k423kf44', 'hdhd0244k9j7ao03')).toBe(signed.signature);
  });

  it('reproduces the GET /photos request signature MdpQcU8iPSUjWoN/UDMsK2sui9I=', () => {
    const signed = signOAuth1Request(photos, {
      method: 'GET',
      url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
      token: { token: 'nnch734d00sl2jdk', tokenSecret: 'pfkkdhi9sl3r4s00' },
      nonce: 'chapoH',
      timestamp: '137131202',
      includeVersion: false,
    });
    expect(signed.baseString).toBe(
      'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03' +
        '%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal',
    );
    expect(signed.signature).toBe('MdpQcU8iPSUjWoN/UDMsK2sui9I=');
    expect(referenceHmacSha1(signed.baseString, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00')).toBe(signed.signature);
  });
});

describe('RFC 5849 §3.1 / §3.4.1.1 example (b5=%3D%253D, a3 twice, c2 without value)', () => {
  const input = {
    method: 'POST',
    url: 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
    formParams: [...new URLSearchParams('c2&a3=2+q')],
    token: { token: 'kkk9d7dh3k39sjv7', tokenSecret: 'dh893hdasih9' },
    nonce: '7d8f3e4a',
    timestamp: '137131201',
    includeVersion: false,
  };
  const consumer: OAuth1ConsumerCredentials = { consumerKey: '9djdj82h48djs9d2', consumerSecret: 'j49sk3j29djd', signatureMethod: 'HMAC-SHA1' };
  const printedBaseString =
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D' +
    '%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1' +
    '%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7';

  it('produces the printed base string exactly', () => {
    expect(signOAuth1Request(consumer, input).baseString).toBe(printedBaseString);
  });

  it('normalises the §3.4.1.3.2 parameter list exactly as printed', () => {
    const params: [string, string][] = [
      ['b5', '=%3D'], ['a3', 'a'], ['c@', ''], ['a2', 'r b'], ['oauth_consumer_key', '9djdj82h48djs9d2'],
      ['oauth_token', 'kkk9d7dh3k39sjv7'], ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_timestamp', '137131201'],
      ['oauth_nonce', '7d8f3e4a'], ['c2', ''], ['a3', '2 q'],
    ];
    expect(normalizeParameters(params)).toBe(
      'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a' +
        '&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7',
    );
  });

  it('signs it with the correct HMAC, which is not the signature the RFC prints (bYT5CMsGcbgUdFHObYMEfcx6bsw=)', () => {
    const signed = signOAuth1Request(consumer, input);
    // An independent HMAC-SHA1 of the printed base string with the stated secrets (j49sk3j29djd,
    // dh893hdasih9) gives r6/TJjbCOr97/+UU0NsvSne7s5g=: the RFC's printed value is wrong.
    expect(referenceHmacSha1(printedBaseString, 'j49sk3j29djd', 'dh893hdasih9')).toBe('r6/TJjbCOr97/+UU0NsvSne7s5g=');
    expect(signed.signature).toBe('r6/TJjbCOr97/+UU0NsvSne7s5g=');
    expect(signed.signature).not.toBe('bYT5CMsGcbgUdFHObYMEfcx6bsw=');
  });
});

describe('RFC 5849 §3.4.1.2 base string URI examples', () => {
  it('lower-cases the host and drops the default port: EXAMPLE.COM:80/r%20v/X → http://example.com/r%20v/X', () => {
    expect(baseStringUri('http://EXAMPLE.COM:80/r%20v/X?id=123')).toBe('http://example.com/r%20v/X');
  });
  it('keeps a non-default port and supplies the empty path: https://www.example.net:8080/', () => {
    expect(baseStringUri('https://www.example.net:8080?q=1')).toBe('https://www.example.net:8080/');
  });
});

describe('RFC 5849 PLAINTEXT examples (§2.1, §2.3)', () => {
  const consumer: OAuth1ConsumerCredentials = { consumerKey: 'jd83jd92dhsh93js', consumerSecret: 'ja893SD9', signatureMethod: 'PLAINTEXT' };
  it('signs temporary credentials as "ja893SD9%26" in the header', () => {
    const signed = signOAuth1Request(consumer, {
      method: 'POST',
      url: 'https://server.example.com/request_temp_credentials',
      protocolParams: { oauth_callback: 'http://client.example.net/cb?x=1' },
    });
    expect(signed.signature).toBe('ja893SD9&');
    expect(authorizationHeaderValue(signed.oauthParams)).toContain('oauth_signature="ja893SD9%26"');
  });
  it('signs token credentials as "ja893SD9%26xyz4992k83j47x0b"', () => {
    const signed = signOAuth1Request(consumer, {
      method: 'POST',
      url: 'https://server.example.com/request_token',
      token: { token: 'hdk48Djdsa', tokenSecret: 'xyz4992k83j47x0b' },
      protocolParams: { oauth_verifier: '473f82d3' },
    });
    expect(authorizationHeaderValue(signed.oauthParams)).toContain('oauth_signature="ja893SD9%26xyz4992k83j47x0b"');
  });
});

describe('OAuth Core 1.0 Appendix A.5', () => {
  const signed = signOAuth1Request(photos, {
    method: 'GET',
    url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
    token: { token: 'nnch734d00sl2jdk', tokenSecret: 'pfkkdhi9sl3r4s00' },
    nonce: 'kllo9940pd9333jh',
    timestamp: '1191242096',
  });
  it('A.5.1 base string', () => {
    expect(signed.baseString).toBe(
      'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03' +
        '%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096' +
        '%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal',
    );
  });
  it('A.5.2 signature tR3+Ty81lMeYAr/Fid0kMTYa/WM=', () => {
    expect(signed.signature).toBe('tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
  });
});

describe('X/Twitter "Creating a signature"', () => {
  it('signs POST statuses/update.json as hCtSmYh+iHYCEqBWrE7C7hYmtUk=', () => {
    const signed = signOAuth1Request(
      { consumerKey: 'xvz1evFS4wEEPTGEFPHBog', consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', signatureMethod: 'HMAC-SHA1' },
      {
        method: 'post',
        url: 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
        formParams: [['status', 'Hello Ladies + Gentlemen, a signed OAuth request!']],
        token: { token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb', tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE' },
        nonce: 'kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg',
        timestamp: '1318622958',
      },
    );
    expect(signed.baseString).toBe(
      'POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue' +
        '%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg' +
        '%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958' +
        '%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0' +
        '%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521',
    );
    expect(signed.signature).toBe('hCtSmYh+iHYCEqBWrE7C7hYmtUk=');
  });
});

describe('where raw oauth-1.0a deviates from RFC 5849 §3.4.1, the wrapper follows the RFC', () => {
  const raw = new OAuth({ consumer: { key: 'k', secret: 's' }, signature_method: 'HMAC-SHA1', hash_function: () => '' });
  const oauthData = { oauth_consumer_key: 'k', oauth_nonce: 'n', oauth_signature_method: 'HMAC-SHA1', oauth_timestamp: '1', oauth_version: '1.0' };
  const oauthParams = Object.entries(oauthData);
  const rawBaseString = (method: string, url: string, data: Record<string, string> = {}) =>
    raw.getBaseString({ method, url, data }, { ...oauthData } as unknown as OAuth.Authorization);

  it('when the host has capitals and the default port is given, then the base URI is lower-case without :443', () => {
    const url = 'https://API.Example.COM:443/r';
    expect(signatureBaseString('GET', url, oauthParams)).toMatch(/^GET&https%3A%2F%2Fapi.example.com%2Fr&/);
    expect(rawBaseString('GET', url)).toMatch(/^GET&https%3A%2F%2FAPI.Example.COM%3A443%2Fr&/);
  });

  it('when the URL has no path, then the base URI path is "/"', () => {
    expect(signatureBaseString('GET', 'http://example.com?x=1', oauthParams)).toMatch(/^GET&http%3A%2F%2Fexample.com%2F&/);
    expect(rawBaseString('GET', 'http://example.com?x=1')).toMatch(/^GET&http%3A%2F%2Fexample.com&/);
  });

  it('when the query has "+", then it is a space (%2520), not a literal plus (%252B)', () => {
    expect(signatureBaseString('GET', 'http://example.com/?q=a+b', oauthParams)).toContain('q%3Da%2520b');
    expect(rawBaseString('GET', 'http://example.com/?q=a+b')).toContain('q%3Da%252Bb');
  });

  it('when a query name is percent-encoded, then it is decoded before encoding (c%40 → c%2540, not c%252540)', () => {
    expect(signatureBaseString('GET', 'http://example.com/?c%40=1', oauthParams)).toContain('c%2540%3D1');
    expect(rawBaseString('GET', 'http://example.com/?c%40=1')).toContain('c%252540%3D1');
  });

  it('when a name is in both query and form body, then both pairs are signed', () => {
    const ours = signatureBaseString('POST', 'http://example.com/?a=1', [['a', '2'], ...oauthParams]);
    expect(ours).toContain('a%3D1%26a%3D2');
    // The package merges body and query into one object, so one of the pairs is lost.
    const theirs = rawBaseString('POST', 'http://example.com/?a=1', { a: '2' });
    expect(theirs).toContain('a%3D1%26oauth_consumer_key');
    expect(theirs).not.toContain('a%3D2');
  });

  it('when fragments are present, then they are not part of the base URI', () => {
    expect(baseStringUri('http://example.com/p#frag')).toBe('http://example.com/p');
    expect(raw.getBaseUrl('http://example.com/p#frag')).toBe('http://example.com/p#frag');
  });
});

describe('signature methods', () => {
  const input = { method: 'GET', url: 'http://127.0.0.1:8080/api/resource?x=1', nonce: 'abc', timestamp: '1700000000' };

  it('HMAC-SHA256 signs the base string with SHA-256', () => {
    const signed = signOAuth1Request({ consumerKey: 'ck', consumerSecret: 'cs', signatureMethod: 'HMAC-SHA256' }, input);
    expect(signed.signature).toBe(createHmac('sha256', 'cs&').update(signed.baseString).digest('base64'));
  });

  it('RSA-SHA1 signs with the private key and verifies with the public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signed = signOAuth1Request(
      { consumerKey: 'ck', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), signatureMethod: 'RSA-SHA1' },
      input,
    );
    expect(createVerify('sha1').update(signed.baseString).verify(publicKey, signed.signature, 'base64')).toBe(true);
  });

  it('when RSA-SHA1 has no private key, then PROVIDER_INVALID', () => {
    expect(() => signOAuth1Request({ consumerKey: 'ck', signatureMethod: 'RSA-SHA1' }, input)).toThrow(
      expect.objectContaining({ code: 'PROVIDER_INVALID', message: 'RSA-SHA1 signing needs a privateKey' }),
    );
  });

  it('when HMAC-SHA1 has no consumer secret, then PROVIDER_INVALID', () => {
    expect(() => signOAuth1Request({ consumerKey: 'ck', signatureMethod: 'HMAC-SHA1' }, input)).toThrow(
      expect.objectContaining({ code: 'PROVIDER_INVALID', message: 'HMAC-SHA1 signing needs a consumerSecret' }),
    );
  });
});

describe('encoding and nonces', () => {
  it('sorts duplicate names by their encoded values (byte order of "a%20b" < "a%21" < "a-")', () => {
    expect(normalizeParameters([['v', 'a-'], ['v', 'a b'], ['v', 'a!']])).toBe('v=a%20b&v=a%21&v=a-');
  });
  it('percent-encodes everything but unreserved characters, in UTF-8 with upper-case hex', () => {
    expect(percentEncode("AZaz09-._~!*'() /+=&é☃")).toBe('AZaz09-._~%21%2A%27%28%29%20%2F%2B%3D%26%C3%A9%E2%98%83');
  });
  it("agrees with oauth-1.0a's percentEncode, which it replaces for speed", () => {
    const raw = new OAuth({ consumer: { key: '', secret: '' } });
    for (const value of ['', 'plain', "!*'()", 'a b+c/d?e=f&g', '%41', 'é☃😀', '~-._', '\t\n"<>[]{}|^`#@$,;:']) {
      expect(percentEncode(value)).toBe(raw.percentEncode(value));
    }
  });
  it('when a value is not valid Unicode, then INVALID_REQUEST', () => {
    expect(() => percentEncode('\ud800')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
  it('when the URL is not absolute, then INVALID_REQUEST', () => {
    expect(() => signatureBaseString('GET', '/relative', [])).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
  it('nonces are 30 hex digits and differ each time', () => {
    const a = generateNonce();
    expect(a).toMatch(/^[0-9a-f]{30}$/);
    expect(generateNonce()).not.toBe(a);
  });
  it('escapes quotes in realm', () => {
    expect(authorizationHeaderValue([['oauth_token', 't']], 'a"b')).toBe('OAuth realm="a\\"b", oauth_token="t"');
  });
});
