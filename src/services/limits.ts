/**
 * Quotas and rate limits per client app, so one client cannot crowd out the others.
 *
 * - Connections held: counted from storage (the connection rows), so the quota holds across every
 *   instance of the app. Starts running at the same moment on several instances can each see the
 *   last free place: the quota can be passed by at most the number of starts in flight. A count
 *   costs a query page per 1,000 rows held, so a client whose quota has room for more starts than
 *   QUOTA_REUSE_COVERS_INSTANCES instances can admit in QUOTA_COUNT_REUSE_MS reuses its last count,
 *   plus this process's starts since, for that long; nearer the quota (and for any quota smaller
 *   than that room) every start counts afresh. With the defaults (10,000 held, 1,200 starts a
 *   minute) a count is reused below 9,000 held.
 * - Starts + reauthorizations per minute, forced refreshes per connection per minute, proxy requests
 *   per second: token buckets held in this process, so each limit applies per app instance (N
 *   instances admit up to N times the rate). A storage-backed window would cost a conditional write
 *   on every proxied request, and the rates protect this instance's own resources (provider calls,
 *   sockets, orchestration work), which is what a per-process bucket measures.
 * - Proxy requests in flight per client: a share of the outbound socket pool.
 *
 * Over a limit the request is refused with 429, `Retry-After` and a stable code before anything is
 * started. Every map here has a bound and evicts its least recently used entry.
 */
import { BrokerError } from '../domain/errors';
import type { LimitSettings } from '../domain/limits';

export { DEFAULT_LIMITS, type LimitSettings } from '../domain/limits';
import type { Clock, ConnectionStore } from './runtime';
import { setNewest } from '../domain/bounded-map';

/** Most keys (clients, connections) a bucket map remembers; the least recently used is forgotten. */
export const MAX_TRACKED_KEYS = 10_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * A token bucket per key: `capacity` tokens, refilled evenly over `periodMs`. A forgotten key starts
 * full again, which errs towards admitting.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly capacity: number,
    private readonly periodMs: number,
    private readonly maxKeys = MAX_TRACKED_KEYS,
  ) {}

  /** Takes one token, or answers how long until one is back. */
  take(key: string): { admitted: true } | { admitted: false; retryAfterMs: number } {
    const nowMs = this.clock.now().getTime();
    const tokens = this.tokensAt(key, nowMs);
    const admitted = tokens >= 1;
    setNewest(this.buckets, key, { tokens: admitted ? tokens - 1 : tokens, atMs: nowMs }, this.maxKeys);
    return admitted ? { admitted } : { admitted, retryAfterMs: this.untilOneToken(tokens) };
  }

  /** Like `take` but takes nothing: whether a token is there now. */
  peek(key: string): { admitted: true } | { admitted: false; retryAfterMs: number } {
    const tokens = this.tokensAt(key, this.clock.now().getTime());
    return tokens >= 1 ? { admitted: true } : { admitted: false, retryAfterMs: this.untilOneToken(tokens) };
  }

  private tokensAt(key: string, nowMs: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return this.capacity;
    return Math.min(this.capacity, bucket.tokens + Math.max(0, nowMs - bucket.atMs) * (this.capacity / this.periodMs));
  }

  private untilOneToken(tokens: number): number {
    return (1 - tokens) / (this.capacity / this.periodMs);
  }
}

/** The limits of this process, built once by the composition root. */
export class ClientLimits {
  private readonly starts: TokenBuckets;
  private readonly forcedRefreshes: TokenBuckets;
  private readonly proxyRate: TokenBuckets;
  /** In-flight proxied requests per client; entries leave when they reach zero, so it is bounded by the clients. */
  private readonly inFlight = new Map<string, number>();
  /** Each client's last count of connections held, plus this process's starts since (least recently used forgotten). */
  private readonly heldCounts = new Map<string, { held: number; countedAtMs: number }>();

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    readonly settings: LimitSettings,
  ) {
    this.starts = new TokenBuckets(clock, settings.startsPerMinute, 60_000);
    this.forcedRefreshes = new TokenBuckets(clock, settings.forcedRefreshesPerMinute, 60_000);
    this.proxyRate = new TokenBuckets(clock, settings.proxyRequestsPerSecond, 1_000);
  }

  /**
   * Throws RATE_LIMITED when a start would be refused now, taking nothing: lets the route refuse
   * before it reads and parses the body (the start itself is admitted by `admitStart`).
   */
  assertStartAvailable(clientId: string): void {
    admit(this.starts.peek(clientId), 'BROKER_STARTS_PER_MINUTE', 'connection starts and reauthorizations');
  }

  /** A connection start or reauthorization; throws RATE_LIMITED. */
  admitStart(clientId: string): void {
    admit(this.starts.take(clientId), 'BROKER_STARTS_PER_MINUTE', 'connection starts and reauthorizations');
  }

  /**
   * Throws QUOTA_EXCEEDED when the client already holds its quota of connections (see the module
   * comment for when the count is reused); counts the start it admits. Answers whether a legacy row
   * has `connectionId` when the count read that in the same query (for `create`), or undefined.
   */
  async assertConnectionQuota(connections: Pick<ConnectionStore, 'countWithStatusAndLegacy'>, clientId: string, connectionId: string): Promise<QuotaCheck> {
    const maxConnections = this.settings.maxConnectionsPerClient;
    const known = this.heldCounts.get(clientId);
    const unseenAtMost = Math.ceil((this.settings.startsPerMinute * QUOTA_COUNT_REUSE_MS) / 60_000) * QUOTA_REUSE_COVERS_INSTANCES;
    if (known && this.clock.now().getTime() - known.countedAtMs < QUOTA_COUNT_REUSE_MS && known.held + unseenAtMost < maxConnections) {
      known.held += 1;
      return undefined;
    }
    // The same query tells whether a legacy row has the new id, so `create` need not read for it.
    const { count, legacyExists } = await connections.countWithStatusAndLegacy(clientId, HELD_STATUSES, maxConnections, connectionId);
    if (count >= maxConnections) {
      throw new BrokerError('QUOTA_EXCEEDED', `this client already holds ${maxConnections} connections (limit BROKER_MAX_CONNECTIONS_PER_CLIENT); revoke some first`, {
        retryAfterSeconds: 60,
        details: { limit: 'BROKER_MAX_CONNECTIONS_PER_CLIENT' },
      });
    }
    setNewest(this.heldCounts, clientId, { held: count + 1, countedAtMs: this.clock.now().getTime() }, MAX_TRACKED_KEYS);
    return { legacyExists };
  }

  /** A forced refresh of one connection; throws RATE_LIMITED. */
  admitForcedRefresh(clientId: string, connectionId: string): void {
    admit(this.forcedRefreshes.take(`${clientId}\u0000${connectionId}`), 'BROKER_FORCED_REFRESHES_PER_MINUTE', 'forced refreshes of this connection');
  }

  /**
   * A proxied request; throws RATE_LIMITED. The answer is a release to call once the provider's
   * answer has been passed on (or failed), which frees the client's share of the socket pool.
   */
  admitProxy(clientId: string): () => void {
    const held = this.inFlight.get(clientId) ?? 0;
    if (held >= this.settings.proxyConcurrentPerClient) {
      throw limited('BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT', `more than ${this.settings.proxyConcurrentPerClient} proxied requests in flight`, 1);
    }
    admit(this.proxyRate.take(clientId), 'BROKER_PROXY_REQUESTS_PER_SECOND', 'proxied requests');
    this.inFlight.set(clientId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(clientId) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(clientId);
      else this.inFlight.set(clientId, left);
    };
  }
}

function admit(result: ReturnType<TokenBuckets['take']>, setting: string, what: string): void {
  if (!result.admitted) throw limited(setting, `too many ${what}`, result.retryAfterMs / 1000);
}

function limited(setting: string, message: string, retryAfterSeconds: number): BrokerError {
  // A refusal's stack is never shown (BrokerErrors are logged by code and message), and capturing
  // it is most of what building the error costs; a flooding client makes many.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new BrokerError('RATE_LIMITED', `${message}; retry later (limit ${setting})`, {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)),
      details: { limit: setting },
    });
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/** Statuses whose connection still holds a place: an orchestration waits or keeps it fresh. */
export const HELD_STATUSES = ['awaiting_callback', 'connected', 'refreshing', 'reauth_required'] as const;

/** How long a client's count of connections held is reused, when its quota has room (see the module comment). */
export const QUOTA_COUNT_REUSE_MS = 10_000;
/** A reused count must leave room for the starts this many instances, each at the start rate, admit while it is reused. */
export const QUOTA_REUSE_COVERS_INSTANCES = 5;

/** What a quota check learnt about the legacy partition: `legacyExists` when the count's query answered it. */
export type QuotaCheck = { legacyExists: boolean } | undefined;
