/**
 * Summary of a V8 CPU profile (`--cpu-prof`): the frames with the most self time, and self time by
 * owner (the product's compiled code, the local host, the programming model, Node's internals, GC),
 * as shares of the time the process was not idle. The owner split is what tells the platform's cost
 * from the product's.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/**
 * Code whose whole cost (its own time and everything it calls) is reported: what an invocation's
 * log line costs, the host's forward to the model's stream-mode server, the programming model, the
 * product.
 */
const INCLUSIVE: Record<string, (url: string) => boolean> = {
  'invocation log (devhost log.js)': (url) => url.endsWith('/devhost/src/log.js'),
  'forward to the stream-mode server (devhost http-stream.js)': (url) => url.endsWith('/devhost/src/http/http-stream.js'),
  '@azure/functions': (url) => url.includes('/@azure/functions/'),
  'product (dist/src)': (url) => url.includes('/dist/src/'),
};

export interface ProfileSummary {
  file: string;
  busyMs: number;
  top: Array<{ frame: string; owner: string; selfPercent: number }>;
  byOwner: Record<string, number>;
  /** Time spent in and below the INCLUSIVE code, % of non-idle time. */
  inclusive: Record<string, number>;
}

export function ownerOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(program)') return 'v8/native';
  if (url.includes('/dist/src/')) return 'product';
  if (url.includes('/devhost/')) return 'local host';
  if (url.includes('/@azure/functions/')) return '@azure/functions';
  if (url.includes('/durable-functions/')) return 'durable-functions';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'app';
}

/**
 * `window` keeps only the samples of the load: the last `fromEndMs` to `toEndMs` milliseconds before
 * the profile ended (the process's start-up and the flow that made the connection are left out).
 */
export function summarizeProfile(file: string, window?: { fromEndMs: number; toEndMs: number }, topN = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = window ? profile.endTime - window.fromEndMs * 1000 : -Infinity;
  const to = window ? profile.endTime - window.toEndMs * 1000 : Infinity;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from && at <= to) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const frames = new Map<string, { owner: string; us: number }>();
  const owners: Record<string, number> = {};
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const owner = ownerOf(url, functionName);
    const key = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    const entry = frames.get(key) ?? { owner, us: 0 };
    entry.us += us;
    frames.set(key, entry);
    owners[owner] = (owners[owner] ?? 0) + us;
  }
  const pct = (us: number) => Math.round((1000 * us) / busyUs) / 10;
  const inclusive: Record<string, number> = {};
  for (const [label, matches] of Object.entries(INCLUSIVE)) inclusive[label] = pct(subtreeUs(profile.nodes, byId, selfUs, matches));
  return {
    inclusive,
    file,
    busyMs: Math.round(busyUs / 1000),
    top: [...frames.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, topN).map(([frame, e]) => ({ frame, owner: e.owner, selfPercent: pct(e.us) })),
    byOwner: Object.fromEntries(Object.entries(owners).sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, pct(us)])),
  };
}

/** Self time under the outermost frames `matches` accepts (a frame below another accepted one counts once). */
function subtreeUs(nodes: ProfileNode[], byId: Map<number, ProfileNode>, selfUs: Map<number, number>, matches: (url: string) => boolean): number {
  const childIds = new Set(nodes.flatMap((n) => n.children ?? []));
  let total = 0;
  const stack = nodes.filter((n) => !childIds.has(n.id)).map((n) => ({ node: n, inside: false }));
  while (stack.length) {
    const { node, inside } = stack.pop()!;
    const here = inside || matches(node.callFrame.url);
    if (here && node.callFrame.functionName !== '(idle)') total += selfUs.get(node.id) ?? 0;
    for (const id of node.children ?? []) stack.push({ node: byId.get(id)!, inside: here });
  }
  return total;
}

function shortUrl(url: string): string {
  const at = url.search(/\/(dist|node_modules)\//);
  return at >= 0 ? url.slice(at + 1) : url;
}

/**
 * The `.cpuprofile`s a host run wrote into `dir`: the host process's, and its worker processes'
 * (they inherit `--cpu-prof`; a worker's profile is the one with the worker's entry point in it).
 */
export function profilesIn(dir: string): { host: string; workers: string[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  const isWorker = (file: string) => readFileSync(file, 'utf8').includes('/devhost/src/worker/worker-main.js');
  const hosts = files.filter((f) => !isWorker(f));
  if (hosts.length !== 1) throw new Error(`expected one host profile in ${dir}, found ${hosts.length}`);
  return { host: hosts[0], workers: files.filter(isWorker) };
}
