import { ClientLimits, DEFAULT_LIMITS, TokenBuckets } from '../../src/services/limits';
import { TokenCache } from '../../src/services/token-cache';

function fakeClock(startMs = Date.parse('2026-01-01T00:00:00Z')) {
  let nowMs = startMs;
  return { now: () => new Date(nowMs), advance: (ms: number) => (nowMs += ms) };
}

describe('token buckets', () => {
  test('when a key has used its capacity, then it is refused with the time until a token is back, and admitted again after it', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets(clock, 3, 60_000);
    expect([1, 2, 3].map(() => buckets.take('a').admitted)).toEqual([true, true, true]);
    const refused = buckets.take('a');
    expect(refused).toEqual({ admitted: false, retryAfterMs: 20_000 });
    expect(buckets.take('b').admitted).toBe(true);
    clock.advance(20_000);
    expect(buckets.take('a').admitted).toBe(true);
    expect(buckets.take('a').admitted).toBe(false);
  });

  test('when more keys than the bound are seen, then the least recently used is forgotten (and starts full again)', () => {
    const clock = fakeClock();
    const buckets = new TokenBuckets(clock, 1, 60_000, 2);
    buckets.take('a');
    buckets.take('b');
    buckets.take('a'); // refused, but touched: 'b' is now the oldest
    buckets.take('c');
    expect(buckets.take('a').admitted).toBe(false);
    expect(buckets.take('b').admitted).toBe(true);
  });
});

describe('client limits', () => {
  test('when a client has used its starts, then the check before reading a body refuses, and it takes nothing while starts are left', () => {
    const limits = new ClientLimits(fakeClock(), { ...DEFAULT_LIMITS, startsPerMinute: 2 });
    limits.assertStartAvailable('app1');
    limits.assertStartAvailable('app1');
    limits.admitStart('app1');
    limits.assertStartAvailable('app1');
    limits.admitStart('app1');
    expect(() => limits.assertStartAvailable('app1')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', retryAfterSeconds: 30, details: { limit: 'BROKER_STARTS_PER_MINUTE' } }));
    expect(() => limits.assertStartAvailable('app2')).not.toThrow();
  });

  test('when a client has its share of proxied requests in flight, then the next is refused until one is released', () => {
    const limits = new ClientLimits(fakeClock(), { ...DEFAULT_LIMITS, proxyConcurrentPerClient: 2 });
    const first = limits.admitProxy('app1');
    limits.admitProxy('app1');
    expect(() => limits.admitProxy('app1')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', details: { limit: 'BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT' } }));
    expect(() => limits.admitProxy('app2')).not.toThrow();
    first();
    first(); // a second release of the same request gives nothing back
    expect(() => limits.admitProxy('app1')).not.toThrow();
    expect(() => limits.admitProxy('app1')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
  });

  test('when starts pass the per-minute limit, then the refusal carries Retry-After seconds and names the setting', () => {
    const limits = new ClientLimits(fakeClock(), { ...DEFAULT_LIMITS, startsPerMinute: 1 });
    limits.admitStart('app1');
    expect(() => limits.admitStart('app1')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', retryAfterSeconds: 60, details: { limit: 'BROKER_STARTS_PER_MINUTE' } }));
  });
});

test('when the token cache holds its bound, then storing another drops the least recently stored', () => {
  const clock = fakeClock();
  const cache = new TokenCache(clock, 2);
  const view = { tokenType: 'Bearer', accessToken: 't', expiresAt: null, scopes: [] };
  const until = clock.now().getTime() + 60_000;
  cache.set('app1', 'a', view, until);
  cache.set('app1', 'b', view, until);
  cache.set('app1', 'a', view, until); // stored again: 'b' is the oldest
  cache.set('app1', 'c', view, until);
  expect(cache.size).toBe(2);
  expect(cache.get('app1', 'b')).toBeUndefined();
  expect(cache.get('app1', 'a')).toEqual(view);
  clock.advance(60_000);
  expect(cache.get('app1', 'c')).toBeUndefined();
  expect(cache.size).toBe(1);
});
