/**
 * CPU profiles (`--cpu-prof`) of the local host process under load: the broker's token route, the
 * broker's proxy route, the proxy route refused by its rate limit (what a flooding client costs, issue
 * 14), and the trivial function (the platform alone), each its own process so a profile holds one
 * route. Written to bench/results/profiles/<route>/; summarised as figures, with the CPU each request
 * cost (host and workers together), so a refusal can be set beside a trivial invocation.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startTrivialHost } from '../support/children';
import { startAzurite } from '../../test/support/azurite';
import { BenchWorld, CLIENT_KEY, startBenchWorld } from '../support/bench-world';
import { profilesIn, summarizeProfile } from '../support/cpu-profile';
import { BenchContext, Figure } from '../support/figure';
import { brokerFlow } from '../support/flows';
import { runLoad } from '../support/load';

const PROFILES = path.join(__dirname, '..', 'results', 'profiles');
const CONCURRENCY = 16;

const freshDir = (name: string) => {
  const dir = path.join(PROFILES, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
};
const cpuProf = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];

export async function benchProfiles(ctx: BenchContext): Promise<Figure[]> {
  const seconds = ctx.quick ? 3 : 8;
  const figures: Figure[] = [];
  const proxyUrl = (world: BenchWorld, id: string) => `${world.broker.url}/api/connections/${id}/proxy/resource/item?x=1`;
  const routes: Array<[string, (world: BenchWorld, id: string) => string, Record<string, string>?]> = [
    ['token', (world, id) => `${world.broker.url}/api/connections/${id}/token`],
    ['proxy', proxyUrl],
    // One proxied call a second admitted: nearly every request is a 429 RATE_LIMITED.
    ['refused', proxyUrl, { BROKER_PROXY_REQUESTS_PER_SECOND: '1' }],
  ];
  for (const [name, url, settings] of routes) {
    const dir = freshDir(name);
    const world = await startBenchWorld({ accessTokenTtlSeconds: 3600, brokerExecArgv: cpuProf(dir), settings });
    let requests = 0;
    const span = { loadStart: 0, loadEnd: 0 };
    try {
      const flow = await brokerFlow(world, `profile-${name}`, 'alice');
      if (flow.status !== 'connected') throw new Error(`could not connect: ${flow.status}`);
      span.loadStart = Date.now();
      const load = await runLoad({ url: url(world, flow.connectionId), headers: { authorization: `Bearer ${CLIENT_KEY}` }, concurrency: CONCURRENCY, seconds });
      span.loadEnd = Date.now();
      requests = load.count;
      ctx.log(`  profiled ${name} route: ${load.requestsPerSecond} req/s`);
      await world.broker.stop();
    } finally {
      await world.stop();
    }
    const what = name === 'refused' ? "the broker's proxy route refused by its rate limit" : `the broker's ${name} route`;
    figures.push(...profileFigures(name, what, dir, windowOf(span), requests));
    if (name === 'token') figures.push(...(await profileTrivial(seconds, ctx)));
  }
  return figures;
}

async function profileTrivial(seconds: number, ctx: BenchContext): Promise<Figure[]> {
  const dir = freshDir('trivial');
  const azurite = await startAzurite();
  const span = { loadStart: 0, loadEnd: 0 };
  let requests = 0;
  try {
    const trivial = await startTrivialHost(azurite.connectionString, '{"ok":true}', cpuProf(dir));
    span.loadStart = Date.now();
    const load = await runLoad({ url: trivial.routeUrl, concurrency: CONCURRENCY, seconds });
    span.loadEnd = Date.now();
    requests = load.count;
    ctx.log(`  profiled trivial function: ${load.requestsPerSecond} req/s`);
    await trivial.stop();
  } finally {
    await azurite.stop();
  }
  return profileFigures('trivial', 'the trivial function (the platform alone)', dir, windowOf(span), requests);
}

/** The load's place in the profile, counted back from the process's exit (which is about now). */
function windowOf(span: { loadStart: number; loadEnd: number }) {
  const exitedAt = Date.now();
  return { fromEndMs: exitedAt - span.loadStart, toEndMs: exitedAt - span.loadEnd };
}

/**
 * One figure for the host process, one for each of its worker processes (`profile-<name>-worker`);
 * the host's also carries the CPU per request of all of them together.
 */
function profileFigures(name: string, what: string, dir: string, window: { fromEndMs: number; toEndMs: number }, requests: number): Figure[] {
  const { host, workers } = profilesIn(dir);
  const summaries = [host, ...workers].map((file) => summarizeProfile(file, window));
  const busyMs = summaries.reduce((sum, s) => sum + s.busyMs, 0);
  const perRequest: Record<string, number> = requests > 0 ? { requests, cpuUsPerRequest: Math.round((busyMs * 1000) / requests) } : {};
  return summaries.map((summary, i) =>
    profileFigure(
      i === 0 ? `profile-${name}` : `profile-${name}-worker${workers.length > 1 ? `-${i}` : ''}`,
      `the ${i === 0 ? 'host' : 'worker'} process serving ${what}`,
      summary,
      i === 0 ? perRequest : {},
    ),
  );
}

function profileFigure(id: string, whose: string, s: ReturnType<typeof summarizeProfile>, extra: Record<string, number>): Figure {
  return {
    id,
    title: `CPU profile of ${whose}, c=${CONCURRENCY}`,
    measured: { ...s, ...extra, file: path.relative(path.join(__dirname, '..', '..'), s.file) },
    baseline: null,
    ratio: null,
    ratioOf: 'self time as % of the non-idle time; byOwner splits it between the product and the platform',
    aim: 'informational: where the time goes',
    met: null,
    reason: 'informational',
  };
}
