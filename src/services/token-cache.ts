/**
 * The token endpoint's per-process cache and its single-flight waits. One instance per process (the
 * composition root owns it); the services that change a connection row forget its entry, so this
 * process never serves a token the row no longer holds.
 */
import type { Clock } from './runtime';

export type TokenView =
  | { tokenType: string; accessToken: string; expiresAt: string | null; scopes: string[] }
  | { oauthToken: string; oauthTokenSecret: string };

function keyOf(clientId: string, connectionId: string): string {
  return `${clientId}\u0000${connectionId}`;
}

export class TokenCache {
  private readonly entries = new Map<string, { view: TokenView; validUntilMs: number }>();
  private readonly waits = new Map<string, Promise<unknown>>();

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  get(clientId: string, connectionId: string): TokenView | undefined {
    const entry = this.entries.get(keyOf(clientId, connectionId));
    return entry && entry.validUntilMs > this.clock.now().getTime() ? entry.view : undefined;
  }

  set(clientId: string, connectionId: string, view: TokenView, validUntilMs: number): void {
    this.entries.set(keyOf(clientId, connectionId), { view, validUntilMs });
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
