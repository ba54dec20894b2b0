/**
 * Token reads and the local host's pipeline. `GET /connections/{id}/token` (served from the broker's
 * cache) side by side with the same JSON body from: a trivial v4 HTTP function on the same local host
 * (bench/fixture-app: the platform's ceiling), a bare node:http server, and a bare node:http reverse
 * proxy in front of it (the two-hop ceiling any app in stream mode pays). Two figures per
 * concurrency: the product's own cost (broker ÷ trivial function) and the pipeline's (trivial
 * function ÷ bare proxy).
 */
import { startHelperServer, startTrivialHost } from '../support/children';
import { BenchWorld, CLIENT_KEY } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { LoadResult } from '../support/load';
import { sideBySide } from '../support/side-by-side';
import { round } from '../support/stats';

const AIM_VS_TRIVIAL = 0.9;
const AIM_PIPELINE_VS_BARE_PROXY = 0.5;
export const CONCURRENCIES = [1, 16, 64];
/** The concurrencies the design's aims are judged at; c=1 is reported for latency. */
export const JUDGED = new Set([16, 64]);
/** The quick run measures only the concurrencies an aim is judged at. */
const concurrencies = (ctx: BenchContext) => (ctx.quick ? CONCURRENCIES.filter((c) => JUDGED.has(c)) : CONCURRENCIES);

export const halfSeconds = (ctx: BenchContext) => (ctx.quick ? 1.5 : 3);

export async function benchTokenReads(world: BenchWorld, connectionId: string, ctx: BenchContext): Promise<Figure[]> {
  const route = `/api/connections/${connectionId}/token`;
  const first = await world.broker.request('GET', route, { key: CLIENT_KEY });
  if (first.status !== 200) throw new Error(`token read answered ${first.status}`);
  const bare = await startHelperServer('bare-json.js', { BENCH_BODY: first.text });
  const bareProxy = await startHelperServer('bare-proxy.js', { BENCH_UPSTREAM: bare.url });
  const trivial = await startTrivialHost(world.azurite.connectionString, first.text);
  const figures: Figure[] = [];
  try {
    for (const concurrency of concurrencies(ctx)) {
      const r = await sideBySide(
        {
          broker: { url: `${world.broker.url}${route}`, headers: { authorization: `Bearer ${CLIENT_KEY}` } },
          trivial: { url: trivial.routeUrl },
          bareProxy: { url: `${bareProxy.url}/` },
          bare: { url: `${bare.url}/` },
        },
        concurrency,
        halfSeconds(ctx),
      );
      ctx.log(`  token reads c=${concurrency}: broker ${r.broker.requestsPerSecond}, trivial function ${r.trivial.requestsPerSecond}, bare proxy ${r.bareProxy.requestsPerSecond}, bare ${r.bare.requestsPerSecond} req/s`);
      figures.push(tokenFigure(concurrency, r), pipelineFigure(concurrency, r));
    }
  } finally {
    await Promise.all([trivial.stop(), bareProxy.stop(), bare.stop()]);
  }
  return figures;
}

type Runs = Record<'broker' | 'trivial' | 'bareProxy' | 'bare', LoadResult>;

const errorsOf = (runs: LoadResult[]) => runs.reduce((n, r) => n + r.errors, 0);

function tokenFigure(concurrency: number, r: Runs): Figure {
  const ratio = round(r.broker.requestsPerSecond / r.trivial.requestsPerSecond, 3);
  const errors = errorsOf([r.broker, r.trivial]);
  const judged = JUDGED.has(concurrency);
  const met = judged ? errors === 0 && ratio >= AIM_VS_TRIVIAL : null;
  return {
    id: `token-reads-c${concurrency}`,
    title: `Token reads, concurrency ${concurrency}`,
    measured: { ...r.broker, vsBareProxy: round(r.broker.requestsPerSecond / r.bareProxy.requestsPerSecond, 3) },
    baseline: { trivialFunction: { ...r.trivial }, bareProxy: { ...r.bareProxy }, bare: { ...r.bare } },
    ratio,
    ratioOf: 'broker req/s ÷ trivial v4 function on the same host req/s (same body)',
    aim: judged ? `ratio ≥ ${AIM_VS_TRIVIAL}` : 'informational (latency at one in flight)',
    met,
    reason: errors
      ? `${errors} requests failed`
      : met === false
        ? `the broker serves ${ratio}× the trivial function; the token route's profile (profile-token, byOwner and inclusive) says how much of it is the product's`
        : met ? 'met' : 'informational',
  };
}

function pipelineFigure(concurrency: number, r: Runs): Figure {
  const ratio = round(r.trivial.requestsPerSecond / r.bareProxy.requestsPerSecond, 3);
  const errors = errorsOf([r.trivial, r.bareProxy]);
  const judged = JUDGED.has(concurrency);
  const met = judged ? errors === 0 && ratio >= AIM_PIPELINE_VS_BARE_PROXY : null;
  return {
    id: `host-pipeline-c${concurrency}`,
    title: `Local host pipeline (trivial function), concurrency ${concurrency}`,
    measured: { ...r.trivial },
    baseline: { bareProxy: { ...r.bareProxy }, bare: { ...r.bare } },
    ratio,
    ratioOf: 'trivial function req/s ÷ bare node:http reverse proxy (in front of a bare server) req/s',
    aim: judged ? `ratio ≥ ${AIM_PIPELINE_VS_BARE_PROXY}` : 'informational',
    met,
    reason: errors
      ? `${errors} requests failed`
      : met === false
        ? `an empty function gets ${ratio}× the bare two hops: the platform's cost (devhost, @azure/functions' stream-mode server, the invocation path) — see the trivial function's profile`
        : met ? 'met' : 'informational',
  };
}
