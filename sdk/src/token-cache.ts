import type { Token } from './generated/openapi';

export type OAuth2Token = Extract<Token, { accessToken: string }>;
export type OAuth1Token = Extract<Token, { oauthToken: string }>;

export function isOAuth2Token(token: Token): token is OAuth2Token {
  return 'accessToken' in token;
}

export interface TokenCacheOptions {
  /**
   * How long before `expiresAt` a cached token stops being handed out (default 30 s), and at most
   * half its lifetime as seen when fetched, so short-lived tokens are still reused.
   */
  refreshMarginMs?: number;
  /** Milliseconds since the epoch (injectable for tests). */
  now?: () => number;
}

export const DEFAULT_REFRESH_MARGIN_MS = 30_000;

interface Entry {
  token: Token;
  freshUntilMs: number;
}

/**
 * Hands out a connection's token from memory until shortly before it expires, then asks the broker
 * again (which refreshes it when due). Concurrent callers for one connection share one request.
 * OAuth 1.0a tokens and OAuth 2.0 tokens without `expiresAt` do not expire: they stay cached until
 * {@link TokenCache.invalidate} (the client calls it on revoke, refresh and reauthorize).
 */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Token>>();
  /** Bumped by invalidate, so an answer requested before it is not cached after it. */
  private readonly generations = new Map<string, number>();
  private readonly marginMs: number;
  private readonly now: () => number;

  constructor(
    private readonly fetchToken: (connectionId: string) => Promise<Token>,
    options: TokenCacheOptions = {},
  ) {
    this.marginMs = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.now = options.now ?? Date.now;
  }

  /** A token of the connection that does not expire within the margin. */
  async get(connectionId: string): Promise<Token> {
    const cached = this.entries.get(connectionId);
    if (cached && this.now() < cached.freshUntilMs) return cached.token;
    const inFlight = this.pending.get(connectionId);
    if (inFlight) return inFlight;

    const generation = this.generations.get(connectionId) ?? 0;
    const request = this.fetchToken(connectionId).then(
      (token) => {
        if ((this.generations.get(connectionId) ?? 0) === generation) this.entries.set(connectionId, { token, freshUntilMs: this.freshUntil(token) });
        return token;
      },
      (error: unknown) => {
        this.entries.delete(connectionId);
        throw error;
      },
    );
    const settled = request.finally(() => {
      if (this.pending.get(connectionId) === settled) this.pending.delete(connectionId);
    });
    this.pending.set(connectionId, settled);
    return settled;
  }

  /** Forgets one connection's token (or every token). */
  invalidate(connectionId?: string): void {
    const ids = connectionId === undefined ? [...new Set([...this.entries.keys(), ...this.pending.keys()])] : [connectionId];
    for (const id of ids) {
      this.entries.delete(id);
      this.pending.delete(id);
      this.generations.set(id, (this.generations.get(id) ?? 0) + 1);
    }
  }

  private freshUntil(token: Token): number {
    if (!isOAuth2Token(token) || token.expiresAt === null) return Infinity;
    const expiresAtMs = Date.parse(token.expiresAt);
    if (Number.isNaN(expiresAtMs)) return 0;
    const lifetimeMs = expiresAtMs - this.now();
    return expiresAtMs - Math.min(this.marginMs, Math.max(0, lifetimeMs) / 2);
  }
}
