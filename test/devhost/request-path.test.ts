import { canonicalTarget } from '../../devhost/src/http/canonical-target';

// [target as sent, path routed on, query]: App Service's front end decodes escapes (`%2F` included),
// turns `\` into `/` and resolves dot segments; what a path cannot hold is re-encoded.
const CASES: Array<[string, string, string]> = [
  ['/', '/', ''],
  ['/api/echo/special', '/api/echo/special', ''],
  ['/api/echo/1/x?q=1&q=2', '/api/echo/1/x', '?q=1&q=2'],
  ['/api/files/.well-known/x', '/api/files/.well-known/x', ''],
  ['/api/a/./b', '/api/a/b', ''],
  ['/api/a/../b', '/api/b', ''],
  ['/api/x/a/../b?q=/../c', '/api/x/b', '?q=/../c'],
  ['/api/a/%2e%2E/b', '/api/b', ''],
  ['/api/a/.%2e/b', '/api/b', ''],
  ['/api/%2E/x', '/api/x', ''],
  ['/api/a%2Fb', '/api/a/b', ''],
  ['/api/a%2F..%2Fb', '/api/b', ''],
  ['/api/a\\b', '/api/a/b', ''],
  ['/api/a\\..\\b', '/api/b', ''],
  ['/api/a%5C..%5Cb', '/api/b', ''],
  ['/api/caf%C3%A9', '/api/caf%C3%A9', ''],
  ['/api/a%20b', '/api/a%20b', ''],
  ['/api/a%41b', '/api/aAb', ''],
  ['/api/100%25', '/api/100%25', ''],
  // One decode only: a double-encoded dot stays a literal "%2e" and is no dot segment.
  ['/api/a/%252e%252e/b', '/api/a/%252e%252e/b', ''],
  // Not UTF-8: left as sent.
  ['/api/a/%c0%ae%c0%ae/b', '/api/a/%c0%ae%c0%ae/b', ''],
  ['/api/a%3Fb', '/api/a%3Fb', ''],
  ['/api/a//b', '/api/a//b', ''],
  ['/api/..', '/', ''],
  ['/api/../..', '/', ''],
  ['/api/...', '/api/...', ''],
  ['/api/x/..?', '/api/', '?'],
  ['//evil.example/api/x', '//evil.example/api/x', ''],
  ['http://other.example/api/a/../x?y=1', '/api/x', '?y=1'],
];

test.each(CASES)('%s is routed as %s', (target, path, search) => {
  expect(canonicalTarget(target)).toEqual({ path, search });
});
