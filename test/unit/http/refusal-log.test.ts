import { RefusalLog } from '../../../src/http/refusal-log';

function fakeClock(startMs = Date.parse('2026-01-01T00:00:00Z')) {
  let nowMs = startMs;
  return { now: () => new Date(nowMs), advance: (ms: number) => (nowMs += ms) };
}

describe('refusal log', () => {
  test('when a client is refused many times in a window, then only the first is logged and the next window’s first line carries the count', () => {
    const clock = fakeClock();
    const log = new RefusalLog(clock, 10_000);
    expect(log.count('app1', 'BROKER_PROXY_REQUESTS_PER_SECOND')).toBe(1);
    expect([1, 2, 3, 4].map(() => log.count('app1', 'BROKER_PROXY_REQUESTS_PER_SECOND'))).toEqual([undefined, undefined, undefined, undefined]);
    clock.advance(10_000);
    expect(log.count('app1', 'BROKER_PROXY_REQUESTS_PER_SECOND')).toBe(5);
    expect(log.count('app1', 'BROKER_PROXY_REQUESTS_PER_SECOND')).toBeUndefined();
  });

  test('when two clients or two limits are refused, then each pair has its own window', () => {
    const log = new RefusalLog(fakeClock(), 10_000);
    expect(log.count('app1', 'BROKER_STARTS_PER_MINUTE')).toBe(1);
    expect(log.count('app2', 'BROKER_STARTS_PER_MINUTE')).toBe(1);
    expect(log.count('app1', 'BROKER_PROXY_REQUESTS_PER_SECOND')).toBe(1);
    expect(log.count('app1', 'BROKER_STARTS_PER_MINUTE')).toBeUndefined();
  });

  test('when more pairs than the bound are seen, then the oldest is forgotten and its next refusal is logged again', () => {
    const log = new RefusalLog(fakeClock(), 10_000, 2);
    log.count('app1', 'L');
    log.count('app2', 'L');
    log.count('app3', 'L');
    expect(log.count('app2', 'L')).toBeUndefined();
    expect(log.count('app1', 'L')).toBe(1);
  });
});
