/**
 * The token endpoint's per-process cache and its single-flight waits. One instance per process (the
 * composition root owns it); the services that change a connection row forget its entry, so this
 * process never serves a token the row no longer holds.
 */
import type { Clock } from './runtime';
import { setNewest } from '../domain/bounded-map';

export type TokenView =
  | { tokenType: string; accessToken: string; expiresAt: string | null; scopes: string[] }
  | { oauthToken: string; oauthTokenSecret: string };

function keyOf(clientId: string, connectionId: string): string {
  return `${clientId}\u0000${connectionId}`;
}

/** Tokens this process keeps at most; past it the least recently stored one is dropped (a miss only costs a row read). */
export const TOKEN_CACHE_MAX_ENTRIES = 10_000;

export class TokenCache {
  private readonly entries = new Map<string, { view: TokenView; validUntilMs: number }>();
  /** Bounded by the requests in flight: each wait leaves the map when it settles. */
  private readonly waits = new Map<string, Promise<unknown>>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly maxEntries = TOKEN_CACHE_MAX_ENTRIES,
  ) {}

  /** Entries held now (expired ones included until they are evicted). */
  get size(): number {
    return this.entries.size;
  }

  get(clientId: string, connectionId: string): TokenView | undefined {
    const key = keyOf(clientId, connectionId);
    const entry = this.entries.get(key);
    if (entry && entry.validUntilMs > this.clock.now().getTime()) return entry.view;
    if (entry) this.entries.delete(key);
    return undefined;
  }

  set(clientId: string, connectionId: string, view: TokenView, validUntilMs: number): void {
    const key = keyOf(clientId, connectionId);
    setNewest(this.entries, key, { view, validUntilMs }, this.maxEntries);
  }

  /** Drops the cached token (the row changed: refresh, reauthorization, revocation). */
  forget(clientId: string, connectionId: string): void {
    this.entries.delete(keyOf(clientId, connectionId));
  }

  /** Concurrent callers with the same `(connection, version)` share one wait. */
  singleFlight<T>(clientId: string, connectionId: string, version: number, run: () => Promise<T>): Promise<T> {
    const key = `${keyOf(clientId, connectionId)}\u0000${version}`;
    let wait = this.waits.get(key) as Promise<T> | undefined;
    if (!wait) {
      wait = run().finally(() => this.waits.delete(key));
      this.waits.set(key, wait);
    }
    return wait;
  }
}
