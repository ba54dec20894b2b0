import { requestPath } from '../../devhost/src/http/http-trigger';

test('requestPath gives the path new URL gives, for plain and for unusual request targets', () => {
  const targets = [
    '/', '/api/echo/special', '/api/echo/1/x?q=1&q=2', '/api/files/a.txt', '/api/files/.well-known/x', '/api/a/./b',
    '/api/a/../b', '/api/a/%2e%2E/b', '/api/%2E/x', '/api/a%2Fb', '/api/caf%C3%A9', '/api/café', '/api/a b', '/api/a\\b',
    '//evil.example/api/x', '/api/x#frag', '/api/x?', '/api/:id@x', "/api/it's", '/api/a//b', '/api/..', '/api/...',
    'http://other.example/api/x', '*',
  ];
  for (const t of targets) expect([t, requestPath(t)]).toEqual([t, new URL(t, 'http://localhost').pathname]);
});
