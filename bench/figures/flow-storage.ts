/**
 * Storage requests per authorization flow and per phase: sequential flows through the broker with
 * counting forwarders in front of Azurite, a snapshot of the counts as each phase ends. The host's
 * own background requests (partition leases, queue polls) are measured idle first and subtracted.
 */
import { startBenchWorld } from '../support/bench-world';
import { BenchContext, Figure } from '../support/figure';
import { brokerFlow } from '../support/flows';
import { round } from '../support/stats';

const AIM_PER_FLOW = 8;
const SETTLE_MS = 1000;

export async function benchFlowStorage(ctx: BenchContext): Promise<Figure[]> {
  const flows = ctx.quick ? 10 : 30;
  const world = await startBenchWorld({ accessTokenTtlSeconds: 3600, countStorage: true });
  try {
    const requests = () => world.storageCounts()!.requests;
    await brokerFlow(world, 'storage-warm', 'warm');
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const idleFrom = requests();
    const idleStart = Date.now();
    await new Promise((r) => setTimeout(r, ctx.quick ? 3000 : 5000));
    const idlePerMs = (requests() - idleFrom) / (Date.now() - idleStart);

    const byPhase: Record<string, number> = {};
    let total = 0;
    const targetsBefore = world.storageCounts()!.byTarget;
    for (let i = 0; i < flows; i++) {
      let last = requests();
      let lastAt = Date.now();
      const flowStart = last;
      const flowStartAt = lastAt;
      const mark = (phase: string) => {
        const now = requests();
        byPhase[phase] = (byPhase[phase] ?? 0) + (now - last) - idlePerMs * (Date.now() - lastAt);
        last = now;
        lastAt = Date.now();
      };
      const flow = await brokerFlow(world, `storage-${i}`, `user-${i}`, mark);
      if (flow.status !== 'connected') throw new Error(`flow ${i} ended ${flow.status}`);
      // What the orchestration still writes once connected (its refresh timer) belongs to the flow.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      mark('after');
      total += requests() - flowStart - idlePerMs * (Date.now() - flowStartAt);
    }
    const perFlow = round(total / flows, 1);
    const targetsAfter = world.storageCounts()!.byTarget;
    const byTarget = Object.fromEntries(
      Object.entries(targetsAfter)
        .map(([k, n]) => [k, round((n - (targetsBefore[k] ?? 0)) / flows, 1)] as const)
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]),
    );
    const phases = Object.fromEntries(Object.entries(byPhase).map(([k, v]) => [k, Math.max(0, round(v / flows, 1))]));
    ctx.log(`  storage requests per flow ${perFlow} (${JSON.stringify(phases)}; ${JSON.stringify(byTarget)}), idle ${round(idlePerMs * 1000, 1)}/s`);
    return [
      {
        id: 'flow-storage-requests',
        title: `Storage requests per authorization flow (${flows} sequential flows)`,
        measured: { requestsPerFlow: perFlow, byPhase: phases, byTarget, idleRequestsPerSecond: round(idlePerMs * 1000, 1) },
        baseline: null,
        ratio: null,
        ratioOf: 'an absolute count (idle background requests subtracted)',
        aim: `≤ ${AIM_PER_FLOW} per flow`,
        met: perFlow <= AIM_PER_FLOW,
        reason: perFlow <= AIM_PER_FLOW ? 'met' : `${perFlow} requests per flow; by phase ${Object.entries(phases).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      },
    ];
  } finally {
    await world.stop();
  }
}
