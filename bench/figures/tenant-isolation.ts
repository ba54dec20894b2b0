/**
 * Figure: three clients on one broker, one flooding at ten times its limits (starts, forced
 * refreshes, proxy calls). The two well-behaved clients' p99 latency with the flood, beside the same
 * workload without it, in the same world. The end-to-end test test/e2e/tenant-isolation.test.ts
 * asserts the functional side (nothing of theirs refused); this reports the timing.
 */
import { eventually } from '../../test/e2e/support/broker-host';
import { flood, percentile, politeWorkload, type TimedAnswer } from '../../test/e2e/support/tenant-traffic';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, type World } from '../../test/e2e/support/world';
import type { BenchContext, Figure } from '../support/figure';
import { round } from '../support/stats';

const FLOODER_KEY = 'app3-key-0123456789';
// Each polite client starts once and force-refreshes once per run (three runs) and proxies below the rate.
const LIMITS = { startsPerMinute: 60, forcedRefreshesPerMinute: 20, proxyRequestsPerSecond: 40 };
const AIM_RATIO = 1.5;

async function connectAs(world: World, key: string): Promise<string> {
  const started = await world.broker.request('POST', '/api/connections', { key, body: { provider: 'oidc' } });
  if (started.status !== 201) throw new Error(`start answered ${started.status}`);
  await world.broker.request('GET', await consent(world, started.json.authorizationUrl));
  await eventually(async () => ((await world.broker.request('GET', `/api/connections/${started.json.connectionId}`, { key })).json?.status === 'connected' ? true : undefined));
  return started.json.connectionId as string;
}

export async function benchTenantIsolation(ctx: BenchContext): Promise<Figure[]> {
  const rounds = ctx.quick ? 10 : 20;
  const world = await startWorld({
    extraSettings: {
      BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY},app2:${OTHER_CLIENT_KEY},app3:${FLOODER_KEY}`,
      BROKER_STARTS_PER_MINUTE: String(LIMITS.startsPerMinute),
      BROKER_FORCED_REFRESHES_PER_MINUTE: String(LIMITS.forcedRefreshesPerMinute),
      BROKER_PROXY_REQUESTS_PER_SECOND: String(LIMITS.proxyRequestsPerSecond),
    },
  });
  try {
    const polite = [await connectAs(world, CLIENT_KEY), await connectAs(world, OTHER_CLIENT_KEY)];
    const flooder = await connectAs(world, FLOODER_KEY);
    const both = async (): Promise<TimedAnswer[]> =>
      (await Promise.all([politeWorkload(world, CLIENT_KEY, polite[0], rounds), politeWorkload(world, OTHER_CLIENT_KEY, polite[1], rounds)])).flat();
    await both(); // warm-up
    const quiet = await both();
    const [flooded, loud] = await Promise.all([flood(world, FLOODER_KEY, flooder, LIMITS), both()]);
    const p99 = { quiet: percentile(quiet, 99), loud: percentile(loud, 99) };
    const ratio = round(p99.loud / p99.quiet, 3);
    const refusedOthers = loud.filter((a) => a.status >= 400).length;
    const refusedFlood = Object.values(flooded).flat().filter((s) => s === 429).length;
    ctx.log(`  isolation: p99 quiet ${round(p99.quiet, 1)} ms, with flood ${round(p99.loud, 1)} ms; flooder refused ${refusedFlood}`);
    const met = refusedOthers === 0 && ratio <= AIM_RATIO;
    return [
      {
        id: 'tenant-isolation',
        title: 'Two clients while a third floods at 10× its limits',
        measured: { p99Ms: round(p99.loud, 2), p50Ms: round(percentile(loud, 50), 2), requests: loud.length, refusedOthers, flooderRequests: Object.values(flooded).flat().length, flooderRefused: refusedFlood },
        baseline: { p99Ms: round(p99.quiet, 2), p50Ms: round(percentile(quiet, 50), 2), requests: quiet.length },
        ratio,
        ratioOf: "the two clients' p99 with the flood ÷ their p99 without it (same workload, same world)",
        aim: `ratio ≤ ${AIM_RATIO} and nothing of theirs refused`,
        met,
        reason: met ? 'met' : refusedOthers > 0 ? `${refusedOthers} of their requests were refused` : `their p99 grew ${ratio}×`,
      },
    ];
  } finally {
    await world.stop();
  }
}
