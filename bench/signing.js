// OAuth 1.0a signing cost beside the HMAC-SHA1 it cannot avoid.
// Run after `npm run build`: node bench/signing.js [iterations]
// Prints µs per signed request (base string + nonce + HMAC + header) and µs per raw HMAC-SHA1 of the
// same base string, then their ratio.
const { createHmac } = require('node:crypto');
const path = require('node:path');
const { signOAuth1Request, authorizationHeaderValue } = require(path.join(__dirname, '..', 'dist', 'src', 'oauth', 'oauth1', 'sign.js'));

const iterations = Number(process.argv[2] ?? 200_000);
const consumer = { consumerKey: 'xvz1evFS4wEEPTGEFPHBog', consumerSecret: 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw', signatureMethod: 'HMAC-SHA1' };
const token = { token: '370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb', tokenSecret: 'LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE' };
const input = {
  method: 'POST',
  url: 'https://api.twitter.com/1.1/statuses/update.json?include_entities=true',
  formParams: [['status', 'Hello Ladies + Gentlemen, a signed OAuth request!']],
  token,
};
const { baseString } = signOAuth1Request(consumer, input);
const key = 'kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw&LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE';

function measure(fn) {
  for (let i = 0; i < Math.min(20_000, iterations); i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

let sink = 0;
const signedUs = measure(() => {
  sink += authorizationHeaderValue(signOAuth1Request(consumer, input).oauthParams).length;
});
const hmacUs = measure(() => {
  sink += createHmac('sha1', key).update(baseString).digest('base64').length;
});

console.log(`iterations: ${iterations} (base string ${baseString.length} chars)`);
console.log(`signed request (base string + nonce + HMAC-SHA1 + header): ${signedUs.toFixed(2)} µs`);
console.log(`raw HMAC-SHA1 of the same base string:                      ${hmacUs.toFixed(2)} µs`);
console.log(`ratio: ${(signedUs / hmacUs).toFixed(2)}× (aim ≤ 3×)${sink === 0 ? '' : ''}`);
