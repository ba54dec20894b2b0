/**
 * Figure 2: `GET /connections/{id}/token` served from the broker's cache vs a bare node:http server
 * answering the same JSON body, at several concurrencies, side by side.
 */
import { startHelperServer } from '../support/children';
import { BenchWorld, CLIENT_KEY } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { LoadResult, runLoad } from '../support/load';
import { round } from '../support/stats';

const AIM_RATIO = 0.5;
export const CONCURRENCIES = [1, 16, 64];

export async function benchTokenReads(world: BenchWorld, connectionId: string, ctx: BenchContext): Promise<Figure[]> {
  const route = `/api/connections/${connectionId}/token`;
  const first = await world.broker.request('GET', route, { key: CLIENT_KEY });
  if (first.status !== 200) throw new Error(`token read answered ${first.status}`);
  const bare = await startHelperServer('bare-json.js', { BENCH_BODY: first.text });
  const maxRequests = ctx.quick ? 2000 : 6000;
  const maxMs = ctx.quick ? 4000 : 10_000;
  const figures: Figure[] = [];
  try {
    for (const concurrency of CONCURRENCIES) {
      const brokerLoad = { url: `${world.broker.url}${route}`, headers: { authorization: `Bearer ${CLIENT_KEY}` }, concurrency };
      const bareLoad = { url: `${bare.url}/`, concurrency };
      await runLoad({ ...brokerLoad, maxRequests: 300, maxMs: 2000 });
      await runLoad({ ...bareLoad, maxRequests: 300, maxMs: 2000 });
      const broker = await runLoad({ ...brokerLoad, maxRequests, maxMs });
      const baseline = await runLoad({ ...bareLoad, maxRequests, maxMs });
      ctx.log(`  token reads c=${concurrency}: broker ${broker.requestsPerSecond} req/s, bare ${baseline.requestsPerSecond} req/s`);
      figures.push(tokenFigure(concurrency, broker, baseline));
    }
  } finally {
    await bare.stop();
  }
  return figures;
}

function tokenFigure(concurrency: number, broker: LoadResult, baseline: LoadResult): Figure {
  const ratio = round(broker.requestsPerSecond / baseline.requestsPerSecond, 3);
  const clean = broker.errors === 0 && baseline.errors === 0;
  const met = clean && ratio >= AIM_RATIO;
  return {
    id: `token-reads-c${concurrency}`,
    title: `Token reads, concurrency ${concurrency}`,
    measured: { ...broker },
    baseline: { ...baseline },
    ratio,
    ratioOf: 'broker req/s ÷ bare node:http req/s (same JSON body)',
    aim: `ratio ≥ ${AIM_RATIO}`,
    met,
    reason: !clean
      ? `${broker.errors} broker / ${baseline.errors} baseline requests failed`
      : met
        ? 'met'
        : `the broker serves ${ratio}× the bare server's rate: each read runs the Functions HTTP pipeline on the host, the client-key check and the token service`,
  };
}
