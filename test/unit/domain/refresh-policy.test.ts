import {
  isRefreshable,
  MIN_REMAINING_LIFETIME_MS,
  REFRESH_MARGIN_MAX_MS,
  refreshDueAtMs,
  refreshMarginMs,
  refreshRetryDelayMs,
  shouldRefresh,
} from '../../../src/domain/refresh-policy';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const HOUR_MS = 3_600_000;

describe('refresh margin: min(60 s, half the lifetime)', () => {
  it('when the token lives an hour, then the margin is 60 s', () => {
    expect(refreshMarginMs(T0, T0 + HOUR_MS)).toBe(REFRESH_MARGIN_MAX_MS);
    expect(REFRESH_MARGIN_MAX_MS).toBe(60_000);
  });

  it('when the token lives 60 s, then the margin is half of it (30 s)', () => {
    expect(refreshMarginMs(T0, T0 + 60_000)).toBe(30_000);
  });

  it('when the token lives exactly 120 s, then both rules agree on 60 s', () => {
    expect(refreshMarginMs(T0, T0 + 120_000)).toBe(60_000);
  });

  it('when the expiry is before the issue time, then the margin is 0 (never negative)', () => {
    expect(refreshMarginMs(T0, T0 - 5_000)).toBe(0);
  });
});

describe('refreshDueAtMs', () => {
  it('without jitter, the token is due exactly one margin before expiry', () => {
    expect(refreshDueAtMs(T0, T0 + HOUR_MS)).toBe(T0 + HOUR_MS - 60_000);
    expect(refreshDueAtMs(T0, T0 + 10_000)).toBe(T0 + 5_000);
  });

  it('jitter moves the due time later by at most 10 % of the margin', () => {
    const expires = T0 + HOUR_MS;
    expect(refreshDueAtMs(T0, expires, 0.5)).toBe(expires - 60_000 + 3_000);
    const nearlyOne = refreshDueAtMs(T0, expires, 0.999);
    expect(nearlyOne).toBeGreaterThan(expires - 60_000);
    expect(nearlyOne).toBeLessThan(expires - 54_000);
  });

  it.each([
    ['negative', -1, 0],
    ['NaN', Number.NaN, 0],
    ['Infinity', Number.POSITIVE_INFINITY, 0],
  ])('when the jitter fraction is %s, then it counts as 0', (_label, fraction, _expected) => {
    expect(refreshDueAtMs(T0, T0 + HOUR_MS, fraction)).toBe(T0 + HOUR_MS - 60_000);
  });

  it('when the jitter fraction is 1 or more, then the due time stays strictly inside the 10 % band', () => {
    const expires = T0 + HOUR_MS;
    for (const fraction of [1, 7]) {
      const due = refreshDueAtMs(T0, expires, fraction);
      expect(due).toBeLessThan(expires - 54_000);
      expect(due).toBeGreaterThan(expires - 54_001);
    }
  });

  it('the due time always falls in [expiry − margin, expiry − 0.9·margin] for any jitter', () => {
    for (const lifetime of [2_000, 60_000, 119_999, HOUR_MS]) {
      const expires = T0 + lifetime;
      const margin = refreshMarginMs(T0, expires);
      for (let i = 0; i <= 20; i++) {
        const due = refreshDueAtMs(T0, expires, i / 20);
        expect(due).toBeGreaterThanOrEqual(expires - margin);
        expect(due).toBeLessThanOrEqual(expires - 0.9 * margin);
      }
    }
  });
});

describe('shouldRefresh (reader decision, no jitter)', () => {
  const expires = T0 + HOUR_MS;

  it('when the token does not expire, then it is never refreshed', () => {
    expect(shouldRefresh(T0, null, T0 + 100 * HOUR_MS)).toEqual({ should: false, reason: 'not_expiring' });
  });

  it('when more than the margin remains, then it is fresh', () => {
    expect(shouldRefresh(T0, expires, expires - 60_001)).toEqual({ should: false, reason: 'fresh' });
  });

  it('when exactly the margin remains, then it is due', () => {
    expect(shouldRefresh(T0, expires, expires - 60_000)).toEqual({ should: true, reason: 'due' });
  });

  it('when one second or less remains, then it counts as expired', () => {
    expect(MIN_REMAINING_LIFETIME_MS).toBe(1_000);
    expect(shouldRefresh(T0, expires, expires - 1_000)).toEqual({ should: true, reason: 'expired' });
    expect(shouldRefresh(T0, expires, expires - 1_001)).toEqual({ should: true, reason: 'due' });
    expect(shouldRefresh(T0, expires, expires + 5_000)).toEqual({ should: true, reason: 'expired' });
  });

  it('when a short-lived token (10 s) is at half its life, then it is due', () => {
    expect(shouldRefresh(T0, T0 + 10_000, T0 + 4_999)).toEqual({ should: false, reason: 'fresh' });
    expect(shouldRefresh(T0, T0 + 10_000, T0 + 5_000)).toEqual({ should: true, reason: 'due' });
  });
});

describe('refreshRetryDelayMs: 5 s doubling, capped at 5 min', () => {
  it.each([
    [1, 5_000],
    [2, 10_000],
    [3, 20_000],
    [6, 160_000],
    [7, 300_000],
    [50, 300_000],
  ])('after failure %i, waits %i ms', (failures, expected) => {
    expect(refreshRetryDelayMs(failures)).toBe(expected);
  });

  it('when the count is 0 or negative, then it waits the first interval', () => {
    expect(refreshRetryDelayMs(0)).toBe(5_000);
    expect(refreshRetryDelayMs(-3)).toBe(5_000);
  });

  it('when the provider asks for a longer Retry-After, then that wins', () => {
    expect(refreshRetryDelayMs(1, 120)).toBe(120_000);
  });

  it('when Retry-After is shorter than the backoff, then the backoff wins', () => {
    expect(refreshRetryDelayMs(3, 1)).toBe(20_000);
  });

  it('when Retry-After is absurdly long, then it is capped at one hour', () => {
    expect(refreshRetryDelayMs(1, 86_400)).toBe(3_600_000);
  });
});

describe('isRefreshable (the one rule for a refresh loop)', () => {
  const oauth2 = { protocol: 'oauth2' };
  const withRefreshToken = { protocol: 'oauth2', refreshToken: 'rt' };
  const expiresAt = '2030-01-01T01:00:00.000Z';

  it('when OAuth 2.0 credentials hold a refresh token and expire, then refreshable', () => {
    expect(isRefreshable(oauth2, withRefreshToken, expiresAt)).toBe(true);
    expect(isRefreshable({ ...oauth2, refreshable: true }, withRefreshToken, expiresAt)).toBe(true);
  });

  it('when any part is missing, then not refreshable', () => {
    expect(isRefreshable(oauth2, { protocol: 'oauth2' }, expiresAt)).toBe(false); // expires_in but no refresh token
    expect(isRefreshable(oauth2, withRefreshToken, null)).toBe(false);
    expect(isRefreshable({ ...oauth2, refreshable: false }, withRefreshToken, expiresAt)).toBe(false);
    expect(isRefreshable({ protocol: 'oauth1' }, { protocol: 'oauth1' }, null)).toBe(false);
    expect(isRefreshable(oauth2, undefined, expiresAt)).toBe(false);
  });

  it('when a client credentials connection holds expiring credentials, then refreshable without a refresh token, whatever `refreshable` says', () => {
    expect(isRefreshable(oauth2, { protocol: 'oauth2' }, expiresAt, 'client_credentials')).toBe(true);
    expect(isRefreshable({ ...oauth2, refreshable: false }, { protocol: 'oauth2' }, expiresAt, 'client_credentials')).toBe(true);
    expect(isRefreshable(oauth2, { protocol: 'oauth2' }, null, 'client_credentials')).toBe(false);
    expect(isRefreshable(oauth2, undefined, expiresAt, 'client_credentials')).toBe(false);
  });
});
