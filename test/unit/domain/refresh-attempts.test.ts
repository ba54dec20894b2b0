import { afterRefreshFailure, DEFAULT_REFRESH_FAILURE_SPAN_MS, isRecovery } from '../../../src/domain/refresh-attempts';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

describe('refresh attempts', () => {
  test('when the first refresh fails, then one failure is counted from now and nothing is exhausted', () => {
    expect(afterRefreshFailure(undefined, T0)).toEqual({
      attempts: { failures: 1, firstFailureAt: T0.toISOString(), lastFailureAt: T0.toISOString() },
      exhausted: false,
    });
  });

  test('when failures continue within the span, then they are counted from the first one', () => {
    const first = afterRefreshFailure(undefined, T0).attempts;
    const second = afterRefreshFailure(first, later(3600_000));
    expect(second).toEqual({ attempts: { failures: 2, firstFailureAt: T0.toISOString(), lastFailureAt: later(3600_000).toISOString() }, exhausted: false });
  });

  test('when failures have lasted the default span of 4 days, then the connection is exhausted', () => {
    expect(DEFAULT_REFRESH_FAILURE_SPAN_MS).toBe(4 * 24 * 3600 * 1000);
    const first = afterRefreshFailure(undefined, T0).attempts;
    expect(afterRefreshFailure(first, later(DEFAULT_REFRESH_FAILURE_SPAN_MS - 1)).exhausted).toBe(false);
    expect(afterRefreshFailure(first, later(DEFAULT_REFRESH_FAILURE_SPAN_MS)).exhausted).toBe(true);
  });

  test('a configured span replaces the default', () => {
    const first = afterRefreshFailure(undefined, T0, 60_000).attempts;
    expect(afterRefreshFailure(first, later(60_000), 60_000).exhausted).toBe(true);
  });

  test('a success after failures is a recovery; a success after a success is not', () => {
    expect(isRecovery(afterRefreshFailure(undefined, T0).attempts)).toBe(true);
    expect(isRecovery(undefined)).toBe(false);
  });
});
