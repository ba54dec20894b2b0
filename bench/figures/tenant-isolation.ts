/**
 * Figure: three clients on one broker, one flooding at ten times its limits (starts, forced
 * refreshes, proxy calls). The two well-behaved clients' p99 latency with the flood, beside the same
 * workload without it, in the same world. The end-to-end test test/e2e/tenant-isolation.test.ts
 * asserts the functional side (nothing of theirs refused); this reports the timing.
 *
 * The flood comes from its own process (flood-process.js), open loop at ten times each limit's
 * rate, so its client-side cost never delays the timed clients' event loop. The same process also
 * runs the third client at exactly its limits (everything admitted): what the flood's refused
 * excess costs the others is the flood beside that run, apart from what its admitted share costs.
 * The runs are mirrored (quiet, at limits, flood, flood, at limits, quiet) so a change in the
 * machine's load weighs on every side alike, after a warm-up that brings the code to its steady state.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { eventually } from '../../test/e2e/support/broker-host';
import { type FloodKind, percentile, politeWorkload, type TimedAnswer } from '../../test/e2e/support/tenant-traffic';
import { CLIENT_KEY, consent, OTHER_CLIENT_KEY, startWorld, type World } from '../../test/e2e/support/world';
import { findDevhostPid, readCpuMs } from '../support/bench-world';
import type { BenchContext, Figure } from '../support/figure';
import { round } from '../support/stats';

const FLOODER_KEY = 'app3-key-0123456789';
// Limits are one setting for every client, so they must admit the polite workload: each polite
// client starts once and force-refreshes once per run (six runs and the warm-up's two halves: eight
// in about 70 s, so 12 a minute leaves room for a slow machine) and proxies at most 10 times a
// second (ROUND_EVERY_MS), half the proxy rate, as in the end-to-end test. At ten times these the
// flood is nearly all refusals: it is admitted 12 starts and 12 refreshes a minute and 20 proxied
// calls a second. Generous start and refresh limits would instead make the flood's admitted work
// (each start and refresh is a storage write, an orchestration and a provider call) the measured
// cost, not its refusals.
const LIMITS = { startsPerMinute: 12, forcedRefreshesPerMinute: 12, proxyRequestsPerSecond: 20 };
const AIM_RATIO = 1.5;
const FLOOD_TIMES = 10;
const ROUND_EVERY_MS = 100;

async function connectAs(world: World, key: string): Promise<string> {
  const started = await world.broker.request('POST', '/api/connections', { key, body: { provider: 'oidc' } });
  if (started.status !== 201) throw new Error(`start answered ${started.status}`);
  await world.broker.request('GET', await consent(world, started.json.authorizationUrl));
  await eventually(async () => ((await world.broker.request('GET', `/api/connections/${started.json.connectionId}`, { key })).json?.status === 'connected' ? true : undefined));
  return started.json.connectionId as string;
}

/** What the third client's process saw over one run, at its limits or flooding. */
interface ThirdClientResult {
  statuses: Record<FloodKind, number[]>;
  /** Sends the pace asked for but held back while too many were waiting (the process's own cap). */
  heldBack: number;
  seconds: number;
}

/** Starts the third client's traffic at `times` each limit in its own process; `stop` ends it and answers what it saw. */
async function startThirdClient(world: World, connectionId: string, times: number): Promise<{ stop(): Promise<ThirdClientResult> }> {
  const options = {
    baseUrl: world.broker.url,
    key: FLOODER_KEY,
    connectionId,
    perSecond: { start: (times * LIMITS.startsPerMinute) / 60, refresh: (times * LIMITS.forcedRefreshesPerMinute) / 60, proxy: times * LIMITS.proxyRequestsPerSecond },
    maxInFlight: 256,
  };
  const child = fork(path.join(__dirname, '../support/flood-process.js'), [JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const rejectOnExit = (reject: (error: Error) => void) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the flood process exited (${code}) before answering`)));
  };
  const result = new Promise<ThirdClientResult>((resolve, reject) => {
    child.on('message', (message) => {
      if (message !== 'started') resolve(message as ThirdClientResult);
    });
    rejectOnExit(reject);
  });
  result.catch(() => undefined); // seen by `stop`, or by the start below
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    rejectOnExit(reject);
  });
  return {
    stop() {
      child.send('stop');
      return result;
    },
  };
}

/** `work`, with token and status reads of each caller's connection sent as fast as they are answered until it ends. */
async function besideFastReads<T>(world: World, callers: ReadonlyArray<{ key: string; connectionId: string }>, work: Promise<T>): Promise<T> {
  let working = true;
  const reads = Promise.all(
    callers.flatMap(({ key, connectionId }) =>
      [`/api/connections/${connectionId}/token`, `/api/connections/${connectionId}`].map(async (route) => {
        while (working) await world.broker.request('GET', route, { key });
      }),
    ),
  );
  reads.catch(() => undefined); // seen below, once `work` ends
  try {
    return await work;
  } finally {
    working = false;
    await reads;
  }
}

export async function benchTenantIsolation(ctx: BenchContext): Promise<Figure[]> {
  // Enough of their requests that p99 is not one outlier (each run: rounds × 2 + 2 per client).
  const rounds = ctx.quick ? 40 : 100;
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
    const bothFor = async (count: number): Promise<TimedAnswer[]> =>
      (await Promise.all([politeWorkload(world, CLIENT_KEY, polite[0], count, ROUND_EVERY_MS), politeWorkload(world, OTHER_CLIENT_KEY, polite[1], count, ROUND_EVERY_MS)])).flat();
    const both = () => bothFor(rounds);
    const pid = findDevhostPid(world.broker.port);
    if (!pid) throw new Error('the broker host process was not found');
    // The broker's CPU over the timed runs: the flood's share is the flooded runs' minus the quiet
    // ones' (the same polite work in each), whatever else the machine's other processes take.
    const cpu = { quiet: 0, loud: 0 };
    const quietRun = async (): Promise<TimedAnswer[]> => {
      const before = readCpuMs(pid);
      const answers = await both();
      cpu.quiet += readCpuMs(pid) - before;
      return answers;
    };
    type ThirdClientRun = { answers: TimedAnswer[]; third: ThirdClientResult };
    const withThird = async (times: number): Promise<ThirdClientRun> => {
      const running = await startThirdClient(world, flooder, times);
      const before = readCpuMs(pid);
      const answers = await both();
      const third = await running.stop();
      if (times === FLOOD_TIMES) cpu.loud += readCpuMs(pid) - before;
      return { answers, third };
    };
    // V8 optimises a route after enough calls, not enough time: at the timed rate the same work
    // costs 40 % more CPU, and their p99 is higher, for the first 30 s or so (about 1,200
    // requests). Fast reads beside half a run bring every process there first; the flood in its
    // first half warms the refusals, and its second half lets the flood's own work end before the
    // first quiet run.
    const everyone = [
      { key: CLIENT_KEY, connectionId: polite[0] },
      { key: OTHER_CLIENT_KEY, connectionId: polite[1] },
      { key: FLOODER_KEY, connectionId: flooder },
    ];
    const flooding = await startThirdClient(world, flooder, FLOOD_TIMES);
    await besideFastReads(world, everyone, bothFor(rounds / 4));
    await flooding.stop();
    await besideFastReads(world, everyone, bothFor(rounds / 4));
    const quiet = await quietRun();
    const atLimitsRuns = [await withThird(1)];
    const floods = [await withThird(FLOOD_TIMES), await withThird(FLOOD_TIMES)];
    atLimitsRuns.push(await withThird(1));
    quiet.push(...(await quietRun()));
    const loud = floods.flatMap((f) => f.answers);
    const atLimits = atLimitsRuns.flatMap((f) => f.answers);
    const statusesOf = (runs: ThirdClientRun[]) => runs.flatMap((run) => Object.values(run.third.statuses).flat());
    const perSecondOf = (runs: ThirdClientRun[]) => round(statusesOf(runs).length / runs.reduce((sum, run) => sum + run.third.seconds, 0), 1);
    const p99 = { quiet: percentile(quiet, 99), loud: percentile(loud, 99), atLimits: percentile(atLimits, 99) };
    // Which of their requests the tail is made of: per-route p99 (refresh and start have two samples per run).
    const byRoute = (answers: TimedAnswer[]) =>
      Object.fromEntries(['proxy', 'token', 'refresh', 'start'].map((route) => [route, round(percentile(answers.filter((a) => a.route === route), 99), 1)]));
    const ratio = round(p99.loud / p99.quiet, 3);
    const refused = [...loud, ...atLimits].filter((a) => a.status >= 400);
    const refusedOthers = refused.length;
    const refusedRoutes = [...new Set(refused.map((a) => `${a.route} ${a.status}`))].join(', ');
    const flooded = statusesOf(floods);
    const refusedFlood = flooded.filter((s) => s === 429).length;
    const flooderRequests = flooded.length;
    const cpuMsPerFloodRequest = round((cpu.loud - cpu.quiet) / flooderRequests, 3);
    ctx.log(`  isolation: p99 quiet ${round(p99.quiet, 1)} ms, third client at its limits ${round(p99.atLimits, 1)} ms, with flood ${round(p99.loud, 1)} ms; flooder sent ${perSecondOf(floods)}/s, refused ${refusedFlood}, broker CPU ${cpuMsPerFloodRequest} ms per flood request`);
    const met = refusedOthers === 0 && ratio <= AIM_RATIO;
    return [
      {
        id: 'tenant-isolation',
        title: 'Two clients while a third floods at 10× its limits',
        measured: {
          p99Ms: round(p99.loud, 2),
          p50Ms: round(percentile(loud, 50), 2),
          requests: loud.length,
          refusedOthers,
          flooderRequests,
          flooderPerSecond: perSecondOf(floods),
          flooderRefused: refusedFlood,
          flooderHeldBack: floods.reduce((sum, run) => sum + run.third.heldBack, 0),
          brokerCpuMsPerFloodRequest: cpuMsPerFloodRequest,
          p99ByRouteMs: byRoute(loud),
          // The third client sending exactly its limits instead: what its admitted share alone costs them.
          atLimits: {
            p99Ms: round(p99.atLimits, 2),
            p50Ms: round(percentile(atLimits, 50), 2),
            requests: atLimits.length,
            thirdPerSecond: perSecondOf(atLimitsRuns),
            thirdRefused: statusesOf(atLimitsRuns).filter((s) => s === 429).length,
            p99ByRouteMs: byRoute(atLimits),
          },
          floodOverAtLimits: round(p99.loud / p99.atLimits, 3),
        },
        baseline: { p99Ms: round(p99.quiet, 2), p50Ms: round(percentile(quiet, 50), 2), requests: quiet.length, p99ByRouteMs: byRoute(quiet) },
        ratio,
        ratioOf: "the two clients' p99 with the flood ÷ their p99 without it (same workload, same world)",
        aim: `ratio ≤ ${AIM_RATIO} and nothing of theirs refused`,
        met,
        reason: met
          ? 'met'
          : refusedOthers > 0
            ? `${refusedOthers} of their requests were refused (${refusedRoutes})`
            : `their p99 grew ${ratio}× (${round(p99.atLimits / p99.quiet, 3)}× with the third client at its limits)`,
      },
    ];
  } finally {
    await world.stop();
  }
}
