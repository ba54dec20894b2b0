import type { SecretSource } from './secret-source';
import { SECRET_CACHE_TTL_MS, ttlCache } from './ttl-cache';

/** Wraps a source with a per-name TTL cache (default 5 minutes); concurrent misses are coalesced. */
export function cachedSecretSource(inner: SecretSource, ttlMs = SECRET_CACHE_TTL_MS, now: () => number = Date.now): SecretSource {
  const cache = ttlCache((name) => inner.getSecret(name), ttlMs, now);
  return { getSecret: (name) => cache.get(name) };
}
