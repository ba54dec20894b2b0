/**
 * Figure 3 (issue 5): the broker's proxy vs direct calls to the same loopback resource and vs a bare
 * node:http reverse proxy piping to it, at several concurrencies, side by side.
 */
import { startHelperServer } from '../support/children';
import { BenchWorld, CLIENT_KEY } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { LoadResult, runLoad } from '../support/load';
import { round } from '../support/stats';
import { CONCURRENCIES } from './token-reads';

const AIM_ADDED_P50_MS_AT_C1 = 1;
const AIM_VS_BARE_RPS_AT_C64 = 0.5;
const AIM_P50_VS_DIRECT = 1.25;
const AIM_RPS_VS_DIRECT = 0.75;
const RESOURCE = 'resource/item?x=1';

export async function benchProxy(world: BenchWorld, connectionId: string, ctx: BenchContext): Promise<Figure[]> {
  const bareProxy = await startHelperServer('bare-proxy.js', { BENCH_UPSTREAM: world.upstream.url });
  const maxRequests = ctx.quick ? 2000 : 6000;
  const maxMs = ctx.quick ? 4000 : 10_000;
  const figures: Figure[] = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      const targets = {
        direct: { url: `${world.upstream.url}/${RESOURCE}`, concurrency },
        bare: { url: `${bareProxy.url}/${RESOURCE}`, concurrency },
        broker: { url: `${world.broker.url}/api/connections/${connectionId}/proxy/${RESOURCE}`, headers: { authorization: `Bearer ${CLIENT_KEY}` }, concurrency },
      };
      for (const target of Object.values(targets)) await runLoad({ ...target, maxRequests: 300, maxMs: 2000 });
      const broker = await runLoad({ ...targets.broker, maxRequests, maxMs });
      const bare = await runLoad({ ...targets.bare, maxRequests, maxMs });
      const direct = await runLoad({ ...targets.direct, maxRequests, maxMs });
      ctx.log(`  proxy c=${concurrency}: broker ${broker.requestsPerSecond} req/s p50 ${broker.p50Ms} ms, bare proxy ${bare.requestsPerSecond}, direct ${direct.requestsPerSecond}`);
      figures.push(proxyFigure(concurrency, broker, bare, direct));
    }
  } finally {
    await bareProxy.stop();
  }
  return figures;
}

function proxyFigure(concurrency: number, broker: LoadResult, bare: LoadResult, direct: LoadResult): Figure {
  const addedP50 = round(broker.p50Ms - direct.p50Ms, 3);
  const addedP99 = round(broker.p99Ms - direct.p99Ms, 3);
  const vsBareRps = round(broker.requestsPerSecond / bare.requestsPerSecond, 3);
  const p50VsDirect = round(broker.p50Ms / direct.p50Ms, 2);
  const rpsVsDirect = round(broker.requestsPerSecond / direct.requestsPerSecond, 3);
  const errors = broker.errors + bare.errors + direct.errors;

  const judged: Array<[string, boolean]> = [[`p50 ratio vs direct ${p50VsDirect} (issue 5 aim ≤ ${AIM_P50_VS_DIRECT})`, p50VsDirect <= AIM_P50_VS_DIRECT], [`throughput ratio vs direct ${rpsVsDirect} (issue 5 aim ≥ ${AIM_RPS_VS_DIRECT})`, rpsVsDirect >= AIM_RPS_VS_DIRECT]];
  let aim = `issue 5: p50 ≤ ${AIM_P50_VS_DIRECT}× direct, req/s ≥ ${AIM_RPS_VS_DIRECT}× direct`;
  if (concurrency === 1) {
    aim = `added p50 ≤ ${AIM_ADDED_P50_MS_AT_C1} ms; ${aim}`;
    judged.unshift([`added p50 ${addedP50} ms (aim ≤ ${AIM_ADDED_P50_MS_AT_C1} ms)`, addedP50 <= AIM_ADDED_P50_MS_AT_C1]);
  }
  if (concurrency === 64) {
    aim = `req/s ≥ ${AIM_VS_BARE_RPS_AT_C64}× bare proxy; ${aim}`;
    judged.unshift([`req/s ${vsBareRps}× the bare proxy (aim ≥ ${AIM_VS_BARE_RPS_AT_C64})`, vsBareRps >= AIM_VS_BARE_RPS_AT_C64]);
  }
  const unmet = judged.filter(([, ok]) => !ok).map(([what]) => what);
  return {
    id: `proxy-c${concurrency}`,
    title: `Proxy, concurrency ${concurrency}`,
    measured: { ...broker, addedP50Ms: addedP50, addedP99Ms: addedP99, p50VsDirect, rpsVsDirect, rpsVsBareProxy: vsBareRps },
    baseline: { direct: { ...direct }, bareProxy: { ...bare } },
    ratio: vsBareRps,
    ratioOf: 'broker req/s ÷ bare node:http reverse proxy req/s',
    aim,
    met: errors === 0 && unmet.length === 0,
    reason: errors ? `${errors} requests failed` : unmet.length ? unmet.join('; ') : 'met',
  };
}
