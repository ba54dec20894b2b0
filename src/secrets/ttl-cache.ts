/**
 * Memoises an async loader per key for `ttlMs`. Concurrent misses share one load; failures are
 * not cached, so the next call retries.
 */
import { setNewest } from '../domain/bounded-map';

/** Keys are secret names from the settings, so few; the bound only guards against a runaway caller. */
export const TTL_CACHE_MAX_ENTRIES = 1_000;

export function ttlCache<V>(loader: (key: string) => Promise<V>, ttlMs: number, now: () => number = Date.now, maxEntries = TTL_CACHE_MAX_ENTRIES) {
  const entries = new Map<string, { value: Promise<V>; expiresAt: number }>();
  return {
    get(key: string): Promise<V> {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > now()) return entry.value;
      const value = loader(key);
      setNewest(entries, key, { value, expiresAt: now() + ttlMs }, maxEntries);
      value.catch(() => {
        if (entries.get(key)?.value === value) entries.delete(key);
      });
      return value;
    },
    /** Drops `key` so the next get loads it again. */
    invalidate(key: string): void {
      entries.delete(key);
    },
  };
}

/** Default lifetime of cached secrets: short enough that a rotation is picked up within minutes. */
export const SECRET_CACHE_TTL_MS = 5 * 60 * 1000;
