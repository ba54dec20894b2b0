/**
 * In-process maps with a bound: a Map iterates in insertion order, so re-inserting a key makes it
 * the newest and the first key is the one to forget.
 */

/** Forgets the oldest entries until the map holds at most `maxEntries`. */
export function evictOldest<K, V>(map: Map<K, V>, maxEntries: number): void {
  while (map.size > maxEntries) map.delete(map.keys().next().value as K);
}

/** Sets `key` as the newest entry, then forgets the oldest beyond `maxEntries`. */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, maxEntries: number): void {
  map.delete(key);
  map.set(key, value);
  evictOldest(map, maxEntries);
}
