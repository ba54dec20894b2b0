/**
 * HTTP load from autocannon in its own process, so the generator never shares an event loop with
 * the server it measures and a baseline is not capped by the tool (the in-process generator this
 * replaces saturated near 16,000 req/s). Closed loop: `concurrency` keep-alive connections, each
 * sending its next request when the previous one answered, for a fixed duration. At concurrency 1
 * a sequential probe (latency-probe.js, also its own process) measures instead: autocannon's
 * histograms count whole milliseconds, and the c=1 aims are about fractions of one.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { round } from './stats';

const AUTOCANNON = require.resolve('autocannon/autocannon.js');
const PROBE = path.join(__dirname, 'latency-probe.js');

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  concurrency: number;
  seconds: number;
  /** Status every answer must have; others count as errors. */
  expectStatus?: number;
}

export interface LoadResult {
  concurrency: number;
  requestsPerSecond: number;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  elapsedMs: number;
}

interface CannonJson {
  requests: { total: number; average: number };
  latency: { average: number; p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  statusCodeStats?: Record<string, { count: number }>;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.concurrency === 1) {
    const p = JSON.parse(await lastJsonLine([PROBE, options.url, String(options.seconds), JSON.stringify(options.headers ?? {}), String(options.expectStatus ?? 200)], options.seconds)) as Omit<LoadResult, 'concurrency' | 'requestsPerSecond'>;
    const r = (x: number) => round(x);
    return { concurrency: 1, requestsPerSecond: round(p.count / (p.elapsedMs / 1000), 1), count: p.count, meanMs: r(p.meanMs), p50Ms: r(p.p50Ms), p99Ms: r(p.p99Ms), maxMs: r(p.maxMs), errors: p.errors, elapsedMs: r(p.elapsedMs) };
  }
  const argv = [AUTOCANNON, '--json', '-c', String(options.concurrency), '-d', String(options.seconds), '-t', '30'];
  for (const [name, value] of Object.entries(options.headers ?? {})) argv.push('-H', `${name}=${value}`);
  argv.push(options.url);
  return toResult(JSON.parse(await lastJsonLine(argv, options.seconds)) as CannonJson, options);
}

/** Runs a node script to its end; resolves with the last line of its output that is a JSON object. */
function lastJsonLine(argv: string[], seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.once('exit', (code) => {
      clearTimeout(limit);
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`${path.basename(argv[0])} exited ${code}: ${err.slice(-1000)}`));
      resolve(line);
    });
  });
}

function toResult(c: CannonJson, options: LoadOptions): LoadResult {
  const expect = String(options.expectStatus ?? 200);
  const unexpected = c.statusCodeStats
    ? Object.entries(c.statusCodeStats).filter(([code]) => code !== expect).reduce((n, [, s]) => n + s.count, 0)
    : c.non2xx;
  return {
    concurrency: options.concurrency,
    requestsPerSecond: round(c.requests.total / c.duration, 1),
    count: c.requests.total,
    meanMs: round(c.latency.average),
    p50Ms: round(c.latency.p50),
    p99Ms: round(c.latency.p99),
    maxMs: round(c.latency.max),
    errors: c.errors + c.timeouts + unexpected,
    elapsedMs: round(c.duration * 1000, 1),
  };
}
