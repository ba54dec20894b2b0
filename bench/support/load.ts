/**
 * Closed-loop HTTP load generator: `concurrency` workers on one keep-alive agent, each sending the
 * next request when its previous one answered. Bounded both by a request count and by a duration.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { LatencySummary, round, summarize } from './stats';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
  /** Status every answer must have; others count as errors. */
  expectStatus?: number;
}

export interface LoadResult extends LatencySummary {
  concurrency: number;
  requestsPerSecond: number;
  errors: number;
  elapsedMs: number;
}

function once(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'GET', agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
  const expect = options.expectStatus ?? 200;
  const samples: number[] = [];
  let sent = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.maxMs;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (sent < options.maxRequests && performance.now() < deadline) {
        sent++;
        const t0 = performance.now();
        try {
          const status = await once(agent, url, options.headers ?? {});
          if (status !== expect) errors++;
        } catch {
          errors++;
        }
        samples.push(performance.now() - t0);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return {
    ...summarize(samples),
    concurrency: options.concurrency,
    requestsPerSecond: round(samples.length / (elapsedMs / 1000), 1),
    errors,
    elapsedMs: round(elapsedMs, 1),
  };
}
