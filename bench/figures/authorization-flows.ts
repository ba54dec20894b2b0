/**
 * Figure 1: whole authorization flows through the broker vs the same flows done directly against
 * the provider by a plain OAuth client, `concurrency` at a time, side by side in one run.
 */
import { performance } from 'node:perf_hooks';
import { BenchWorld } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { BrokerFlowResult, brokerFlow, directFlow } from '../support/flows';
import { inBatches, round, summarize } from '../support/stats';

/** Issue 15's aim is judged 20 and 50 at a time. */
const CONCURRENCIES = [20, 50];
const WARMUP_CONCURRENCY = 50;
const AIM_RATIO = 2;
const PHASE_LIMIT_MS = 3 * 60_000;

export interface FlowsOutcome {
  figures: Figure[];
  connectedIds: string[];
}

export async function benchAuthorizationFlows(world: BenchWorld, ctx: BenchContext): Promise<FlowsOutcome> {
  const total = ctx.quick ? 100 : 200;
  const warmup = 50;
  ctx.log(`authorization flows: warm-up ${warmup} + ${total} each way, ${CONCURRENCIES.join(' and ')} at a time`);
  await inBatches(warmup, WARMUP_CONCURRENCY, (i) => directFlow(world, `warm-${i}`));
  await inBatches(warmup, WARMUP_CONCURRENCY, (i) => brokerFlow(world, `fw-${i}`, `warm-${i}`));

  const runPhase = async <T>(concurrency: number, task: (i: number) => Promise<T>) => {
    const deadline = performance.now() + PHASE_LIMIT_MS;
    const t0 = performance.now();
    const results = await inBatches(total, concurrency, async (i) => (performance.now() < deadline ? task(i).catch((e: Error) => e) : undefined));
    return { results, seconds: (performance.now() - t0) / 1000 };
  };
  // One at a time first: the flow's own latency, without queueing behind others.
  const sequentialCount = 20;
  const directAlone = summarize((await inBatches(sequentialCount, 1, (i) => directFlow(world, `alone-${i}`))).map((r) => r.ms));
  const brokerAloneRuns = await inBatches(sequentialCount, 1, (i) => brokerFlow(world, `fa-${i}`, `alone-${i}`));
  const brokerAlone = { ...summarize(brokerAloneRuns.map((r) => r.ms)), phasesMeanMs: meanPhases(brokerAloneRuns) };
  ctx.log(`  one at a time: broker p50 ${brokerAlone.p50Ms} ms, direct p50 ${directAlone.p50Ms} ms`);

  const figures: Figure[] = [];
  const connectedIds: string[] = [];
  for (const concurrency of CONCURRENCIES) {
    const direct = await runPhase(concurrency, (i) => directFlow(world, `user-${concurrency}-${i}`));
    const broker = await runPhase(concurrency, (i) => brokerFlow(world, `f${concurrency}-${i}`, `user-${concurrency}-${i}`));
    ctx.log(`  ${concurrency} at a time: direct ${direct.seconds.toFixed(1)} s, broker ${broker.seconds.toFixed(1)} s`);

    const directOk = direct.results.filter((r): r is { ms: number; ok: boolean } => !!r && !(r instanceof Error) && r.ok);
    const brokerDone = broker.results.filter((r) => !!r && !(r instanceof Error)) as Array<Exclude<(typeof broker.results)[number], Error | undefined>>;
    const connected = brokerDone.filter((r) => r.status === 'connected');
    const firstError = [...broker.results, ...direct.results].find((r) => r instanceof Error) as Error | undefined;
    connectedIds.push(...connected.map((r) => r.connectionId));

    const d = summarize(directOk.map((r) => r.ms));
    const b = summarize(connected.map((r) => r.ms));
    const ratio = round(b.p50Ms / d.p50Ms, 2);
    const allConnected = connected.length === total;
    const met = allConnected && ratio <= AIM_RATIO;
    figures.push({
      id: concurrency === 50 ? 'authorization-flows' : `authorization-flows-c${concurrency}`,
      title: `Authorization flows (${total}, ${concurrency} at a time)`,
      measured: { flows: total, connected: connected.length, wallSeconds: round(broker.seconds, 1), flowsPerSecond: round(connected.length / broker.seconds, 1), ...b, phasesMeanMs: meanPhases(connected), oneAtATime: brokerAlone },
      baseline: { flows: total, succeeded: directOk.length, wallSeconds: round(direct.seconds, 1), flowsPerSecond: round(directOk.length / direct.seconds, 1), ...d, oneAtATime: directAlone },
      ratio,
      ratioOf: `broker p50 flow time ÷ direct p50 flow time, ${concurrency} at a time (mean ratio ${round(b.meanMs / d.meanMs, 2)}, p99 ratio ${round(b.p99Ms / d.p99Ms, 2)}; one at a time, p50 ratio ${round(brokerAlone.p50Ms / directAlone.p50Ms, 2)})`,
      aim: `all ${total} connected; ratio ≤ ${AIM_RATIO}`,
      met,
      reason: !allConnected
        ? `${total - connected.length} flows did not reach connected${firstError ? ` (first error: ${firstError.message.slice(0, 160)})` : ''}`
        : met
          ? 'met'
          : `a broker flow takes ${ratio}× the direct one at p50 (${round(b.p50Ms - d.p50Ms, 1)} ms more): the broker adds a POST /connections (its rows and an orchestration start) and a callback that waits for the exchange activity`,
    });
  }
  return { connectedIds, figures };
}

/** Mean time per phase of the broker flow (POST /connections, consent, callback, until connected). */
function meanPhases(runs: BrokerFlowResult[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const run of runs) for (const [phase, ms] of Object.entries(run.phasesMs ?? {})) sums[phase] = (sums[phase] ?? 0) + ms;
  return Object.fromEntries(Object.entries(sums).map(([phase, sum]) => [phase, round(sum / runs.length, 1)]));
}
