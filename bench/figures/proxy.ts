/**
 * The broker's proxy (`GET /connections/{id}/proxy/…` to a trivial loopback resource that is the
 * provider's `apiBaseUrl`) side by side with: direct calls to that resource, a bare node:http reverse
 * proxy piping to it, and a trivial v4 function on the same local host answering the resource's body
 * (the platform's ceiling without the upstream hop).
 */
import { startHelperServer, startTrivialHost } from '../support/children';
import { BenchWorld, CLIENT_KEY } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { LoadResult } from '../support/load';
import { sideBySide } from '../support/side-by-side';
import { round } from '../support/stats';
import { CONCURRENCIES, halfSeconds } from './token-reads';

const AIM_ADDED_P50_MS_AT_C1 = 1;
const AIM_VS_BARE_RPS_AT_C64 = 0.5;
/** The proxy's aims are judged at c=1 and c=64; the quick run measures only those. */
const JUDGED = [1, 64];
const RESOURCE = 'resource/item?x=1';

export async function benchProxy(world: BenchWorld, connectionId: string, ctx: BenchContext): Promise<Figure[]> {
  const body = await (await fetch(`${world.upstream.url}/${RESOURCE}`)).text();
  const bareProxy = await startHelperServer('bare-proxy.js', { BENCH_UPSTREAM: world.upstream.url });
  const trivial = await startTrivialHost(world.azurite.connectionString, body);
  const figures: Figure[] = [];
  try {
    for (const concurrency of ctx.quick ? JUDGED : CONCURRENCIES) {
      const r = await sideBySide(
        {
          broker: { url: `${world.broker.url}/api/connections/${connectionId}/proxy/${RESOURCE}`, headers: { authorization: `Bearer ${CLIENT_KEY}` } },
          trivial: { url: trivial.routeUrl },
          bareProxy: { url: `${bareProxy.url}/${RESOURCE}` },
          direct: { url: `${world.upstream.url}/${RESOURCE}` },
        },
        concurrency,
        halfSeconds(ctx),
      );
      ctx.log(`  proxy c=${concurrency}: broker ${r.broker.requestsPerSecond} req/s p50 ${r.broker.p50Ms} ms, trivial function ${r.trivial.requestsPerSecond}, bare proxy ${r.bareProxy.requestsPerSecond}, direct ${r.direct.requestsPerSecond} (p50 ${r.direct.p50Ms} ms)`);
      figures.push(proxyFigure(concurrency, r));
    }
  } finally {
    await Promise.all([trivial.stop(), bareProxy.stop()]);
  }
  return figures;
}

type Runs = Record<'broker' | 'trivial' | 'bareProxy' | 'direct', LoadResult>;

function proxyFigure(concurrency: number, r: Runs): Figure {
  const addedP50 = round(r.broker.p50Ms - r.direct.p50Ms, 3);
  const addedP99 = round(r.broker.p99Ms - r.direct.p99Ms, 3);
  const vsBareRps = round(r.broker.requestsPerSecond / r.bareProxy.requestsPerSecond, 3);
  const vsTrivial = round(r.broker.requestsPerSecond / r.trivial.requestsPerSecond, 3);
  const trivialAddedP50 = round(r.trivial.p50Ms - r.direct.p50Ms, 3);
  const errors = r.broker.errors + r.trivial.errors + r.bareProxy.errors + r.direct.errors;
  const judged: Array<[string, boolean]> = [];
  if (concurrency === 1) judged.push([`added p50 ${addedP50} ms (aim ≤ ${AIM_ADDED_P50_MS_AT_C1} ms; the trivial function alone adds ${trivialAddedP50} ms)`, addedP50 <= AIM_ADDED_P50_MS_AT_C1]);
  if (concurrency === 64) judged.push([`req/s ${vsBareRps}× the bare proxy (aim ≥ ${AIM_VS_BARE_RPS_AT_C64}; the trivial function gets ${round(r.trivial.requestsPerSecond / r.bareProxy.requestsPerSecond, 3)}×)`, vsBareRps >= AIM_VS_BARE_RPS_AT_C64]);
  const unmet = judged.filter(([, ok]) => !ok).map(([what]) => what);
  return {
    id: `proxy-c${concurrency}`,
    title: `Proxy, concurrency ${concurrency}`,
    measured: { ...r.broker, addedP50Ms: addedP50, addedP99Ms: addedP99, rpsVsBareProxy: vsBareRps, rpsVsTrivialFunction: vsTrivial },
    baseline: { trivialFunction: { ...r.trivial }, bareProxy: { ...r.bareProxy }, direct: { ...r.direct } },
    ratio: concurrency === 1 ? addedP50 : vsBareRps,
    ratioOf: concurrency === 1 ? 'broker p50 − direct p50, ms (added latency)' : 'broker req/s ÷ bare node:http reverse proxy req/s',
    aim: concurrency === 1 ? `added p50 ≤ ${AIM_ADDED_P50_MS_AT_C1} ms` : concurrency === 64 ? `≥ ${AIM_VS_BARE_RPS_AT_C64}× the bare proxy's req/s` : 'informational',
    met: judged.length ? errors === 0 && unmet.length === 0 : null,
    reason: errors ? `${errors} requests failed` : unmet.length ? unmet.join('; ') : judged.length ? 'met' : 'informational',
  };
}
