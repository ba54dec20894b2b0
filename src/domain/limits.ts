/** The per-client limits' settings and defaults (docs/configuration.md, "Limits"); enforced by src/services/limits.ts. */
export interface LimitSettings {
  /** BROKER_MAX_CONNECTIONS_PER_CLIENT: connections a client may hold (not revoked, expired, denied or failed). */
  maxConnectionsPerClient: number;
  /** BROKER_STARTS_PER_MINUTE: connection starts plus reauthorizations per client per minute. */
  startsPerMinute: number;
  /** BROKER_FORCED_REFRESHES_PER_MINUTE: forced refreshes per connection per minute. */
  forcedRefreshesPerMinute: number;
  /** BROKER_PROXY_REQUESTS_PER_SECOND: proxied requests per client per second. */
  proxyRequestsPerSecond: number;
  /** BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT: proxied requests one client may have in flight. */
  proxyConcurrentPerClient: number;
  /** BROKER_PROXY_401_REFRESH_INTERVAL_SECONDS in ms: a provider 401 forces at most one refresh per connection in this interval. */
  proxyRefreshIntervalMs: number;
}

export const DEFAULT_LIMITS: LimitSettings = {
  maxConnectionsPerClient: 10_000,
  startsPerMinute: 1200,
  forcedRefreshesPerMinute: 6,
  proxyRequestsPerSecond: 100,
  // A quarter of the proxy's 256 sockets per scheme (src/proxy/forward.ts): four busy clients can
  // fill the pool, one cannot.
  proxyConcurrentPerClient: 64,
  proxyRefreshIntervalMs: 60_000,
};
