/**
 * Several targets measured side by side at one concurrency: each is warmed, then loaded twice for
 * half the time in mirrored order (A B C D, D C B A), so a change in the machine's load during the
 * run weighs on every target alike. Requests per second are pooled over both halves; latency
 * percentiles are the mean of the two halves.
 */
import { LoadOptions, LoadResult, runLoad } from './load';
import { round } from './stats';

export type Target = Omit<LoadOptions, 'concurrency' | 'seconds'>;

export async function sideBySide<K extends string>(targets: Record<K, Target>, concurrency: number, halfSeconds: number): Promise<Record<K, LoadResult>> {
  const names = Object.keys(targets) as K[];
  // A second of warm-up per target, a third of a half when halves are short (the quick run).
  const warmSeconds = Math.min(1, halfSeconds / 3);
  for (const name of names) await runLoad({ ...targets[name], concurrency, seconds: warmSeconds });
  const halves = new Map<K, LoadResult[]>(names.map((n) => [n, []]));
  for (const order of [names, [...names].reverse()]) {
    for (const name of order) halves.get(name)!.push(await runLoad({ ...targets[name], concurrency, seconds: halfSeconds }));
  }
  return Object.fromEntries(names.map((n) => [n, pool(halves.get(n)!)])) as Record<K, LoadResult>;
}

function pool(runs: LoadResult[]): LoadResult {
  const count = runs.reduce((n, r) => n + r.count, 0);
  const elapsedMs = runs.reduce((n, r) => n + r.elapsedMs, 0);
  const mean = (pick: (r: LoadResult) => number) => round(runs.reduce((n, r) => n + pick(r), 0) / runs.length);
  return {
    concurrency: runs[0].concurrency,
    requestsPerSecond: round(count / (elapsedMs / 1000), 1),
    count,
    meanMs: mean((r) => r.meanMs),
    p50Ms: mean((r) => r.p50Ms),
    p99Ms: mean((r) => r.p99Ms),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    elapsedMs: round(elapsedMs, 1),
  };
}
