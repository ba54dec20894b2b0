/**
 * Traffic for the tenant-isolation test and its bench figure: a well-behaved client's workload
 * (timed per request) and a flooding client's (starts, forced refreshes and proxy calls at ten times
 * its limits). Both only use the public HTTP API.
 */
import type { HttpAnswer } from './broker-host';
import type { World } from './world';

export interface TimedAnswer {
  route: string;
  status: number;
  ms: number;
}

async function timed(route: string, send: () => Promise<HttpAnswer>): Promise<TimedAnswer> {
  const started = performance.now();
  const answer = await send();
  return { route, status: answer.status, ms: performance.now() - started };
}

/**
 * One well-behaved client's work, below every limit: `rounds` × (proxy call, token read), one
 * forced refresh and one start at the end. With `roundEveryMs`, a round starts at most that often
 * (a client pacing itself under the proxy rate limit however fast the broker answers).
 */
export async function politeWorkload(world: World, key: string, connectionId: string, rounds: number, roundEveryMs = 0): Promise<TimedAnswer[]> {
  const answers: TimedAnswer[] = [];
  const startedAt = performance.now();
  for (let i = 0; i < rounds; i += 1) {
    const wait = startedAt + i * roundEveryMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    answers.push(await timed('proxy', () => world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key })));
    answers.push(await timed('token', () => world.broker.request('GET', `/api/connections/${connectionId}/token`, { key })));
  }
  answers.push(await timed('refresh', () => world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key })));
  answers.push(await timed('start', () => world.broker.request('POST', '/api/connections', { key, body: { provider: 'oidc' } })));
  return answers;
}

export interface FloodLimits {
  startsPerMinute: number;
  forcedRefreshesPerMinute: number;
  proxyRequestsPerSecond: number;
}

export type FloodKind = 'start' | 'refresh' | 'proxy';

/** Ten times each limit, in concurrent waves of `width`; answers the statuses seen, by kind. */
export async function flood(world: World, key: string, connectionId: string, limits: FloodLimits, width = 16): Promise<Record<FloodKind, number[]>> {
  const send: Record<FloodKind, () => Promise<HttpAnswer>> = {
    start: () => world.broker.request('POST', '/api/connections', { key, body: { provider: 'oidc' } }),
    refresh: () => world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key }),
    proxy: () => world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key }),
  };
  const counts: Record<FloodKind, number> = { start: 10 * limits.startsPerMinute, refresh: 10 * limits.forcedRefreshesPerMinute, proxy: 10 * limits.proxyRequestsPerSecond };
  // Interleaved, so every kind of request is in flight together.
  const jobs: FloodKind[] = [];
  for (let round = 0; jobs.length < counts.start + counts.refresh + counts.proxy; round += 1) {
    for (const kind of ['start', 'refresh', 'proxy'] as const) if (round < counts[kind]) jobs.push(kind);
  }
  const statuses: Record<FloodKind, number[]> = { start: [], refresh: [], proxy: [] };
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const kind = jobs[next++];
        statuses[kind].push((await send[kind]()).status);
      }
    }),
  );
  return statuses;
}

/** The `p`-th percentile (0–100) of the durations, nearest rank. */
export function percentile(answers: readonly TimedAnswer[], p: number): number {
  const sorted = answers.map((a) => a.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
