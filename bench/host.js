#!/usr/bin/env node
'use strict';
/**
 * devhost benchmark (run after `npm run build`), loopback only, bounded loops:
 *  - requests/second of a trivial HTTP trigger on the host versus a bare node:http server returning
 *    the same body, side by side in one run, with each server's CPU time per request (Linux /proc);
 *  - p50/p99 latency of one request at a time (concurrency 1), host versus bare;
 *  - orchestrations/second for a three-activity orchestration (50 starts in flight);
 *  - refresh loops (timer → activity → continueAsNew, the broker's per-connection refresh): how late
 *    each activity runs after its timer's due time, p50/p99/max.
 *
 *   node bench/host.js [--requests 20000] [--concurrency 32] [--orchestrations 300]
 *                      [--loops 500] [--loop-every-ms 5000] [--loop-rounds 3] [--profile <dir>]
 *
 * `--profile <dir>` writes a V8 CPU profile of the host process (`--cpu-prof`) into <dir>.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const REQUESTS = Number(args.requests ?? 20000);
const CONCURRENCY = Number(args.concurrency ?? 32);
const ORCHESTRATIONS = Number(args.orchestrations ?? 300);
const LOOPS = Number(args.loops ?? 500);
const LOOP_EVERY_MS = Number(args['loop-every-ms'] ?? 5000);
const LOOP_ROUNDS = Number(args['loop-rounds'] ?? 3);
const LATENCY_REQUESTS = 2000;
const PROFILE_DIR = args.profile ? path.resolve(args.profile) : undefined;
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const children = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(argv, env = {}) {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // A bounded tail: the host logs a line per invocation and the bench shares the machine with it.
  const keep = (d) => (out = (out + d).slice(-100_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.push(child);
  return { child, output: () => out };
}

async function waitFor(check, what, ms = 30000, everyMs = 50) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function request(url, method = 'GET', body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'content-type': 'application/json', ...headers } : headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Fixed number of GETs with a fixed number in flight; returns requests/second. */
async function load(url, total) {
  let next = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        next++;
        const r = await request(url);
        if (r.status !== 200) failures++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failures) throw new Error(`${failures} requests to ${url} failed`);
  return total / seconds;
}

/** One GET at a time; returns latency percentiles in milliseconds. */
async function latency(url, total) {
  const ms = [];
  for (let i = 0; i < total; i++) {
    const t = process.hrtime.bigint();
    const r = await request(url);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 200) throw new Error(`request to ${url} failed: ${r.status}`);
  }
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** CPU time (user + system, ms) a process has used so far; undefined where /proc is missing. */
function cpuMs(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

/** Runs `work` and answers the CPU milliseconds each of `pids` spent meanwhile. */
async function measureCpu(pids, work) {
  const before = pids.map(cpuMs);
  const result = await work();
  const spent = pids.map((pid, i) => (before[i] === undefined ? undefined : cpuMs(pid) - before[i]));
  return { result, spent };
}

const fmtCpu = (ms, n, unit) => (ms === undefined ? 'n/a' : `${((ms * 1000) / n).toFixed(0)} µs CPU/${unit}`);

async function main() {
  // Storage: a private in-memory Azurite.
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  const azurite = run([path.join(ROOT, 'node_modules/azurite/dist/src/azurite.js'), '--silent', '--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--disableTelemetry',
    '--blobPort', String(blob), '--queuePort', String(queue), '--tablePort', String(table)]);
  await waitFor(() => listening(table), 'Azurite');
  const storage = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};TableEndpoint=http://127.0.0.1:${table}/devstoreaccount1;BlobEndpoint=http://127.0.0.1:${blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${queue}/devstoreaccount1;`;

  // The fixture app, with node_modules linked to this repository's packages.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-bench-'));
  fs.cpSync(path.join(ROOT, 'test/devhost/fixture-app'), app, { recursive: true });
  // The fixture splits timers longer than 1 s into 400 ms segments (for the long-timer tests); the
  // bench measures timers as an app sees them with the default (days-long) split.
  const hostJsonFile = path.join(app, 'host.json');
  const hostJson = JSON.parse(fs.readFileSync(hostJsonFile, 'utf8'));
  delete hostJson.extensions.durableTask.maximumShortTimerDuration;
  delete hostJson.extensions.durableTask.longRunningTimerIntervalDuration;
  fs.writeFileSync(hostJsonFile, JSON.stringify(hostJson));
  fs.mkdirSync(path.join(app, 'node_modules/@azure'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules/@azure/functions'), path.join(app, 'node_modules/@azure/functions'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules/durable-functions'), path.join(app, 'node_modules/durable-functions'), 'dir');
  process.on('exit', () => fs.rmSync(app, { recursive: true, force: true }));

  const hostPort = await freePort();
  const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const host = run([...profile, path.join(ROOT, 'devhost/bin/devhost.js'), '--app', app, '--port', String(hostPort)], { AzureWebJobsStorage: storage });
  await waitFor(async () => host.output().includes('Host started') || (host.child.exitCode !== null && Promise.reject(new Error(host.output()))), 'devhost');

  // The baseline: a bare node:http server answering the same body and content type.
  const barePort = await freePort();
  const bare = run(['-e', `require('http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/plain;charset=UTF-8','content-length':'12'});s.end('literal wins')}).listen(${barePort},'127.0.0.1')`]);
  await waitFor(() => listening(barePort), 'bare server');

  const hostUrl = `http://127.0.0.1:${hostPort}/api/echo/special`;
  const bareUrl = `http://127.0.0.1:${barePort}/`;
  if ((await request(hostUrl)).body !== (await request(bareUrl)).body) throw new Error('bodies differ');
  await load(hostUrl, Math.min(2000, REQUESTS));
  await load(bareUrl, Math.min(2000, REQUESTS));
  const hostRun = await measureCpu([host.child.pid], () => load(hostUrl, REQUESTS));
  const bareRun = await measureCpu([bare.child.pid], () => load(bareUrl, REQUESTS));
  const hostLatency = await latency(hostUrl, LATENCY_REQUESTS);
  const bareLatency = await latency(bareUrl, LATENCY_REQUESTS);

  // Orchestrations: ORCHESTRATIONS instances of Chain (three activities in sequence), 50 starts in flight.
  const W = `http://127.0.0.1:${hostPort}/runtime/webhooks/durabletask`;
  const completed = async (prefix, expected) => {
    const r = await request(`${W}/instances?instanceIdPrefix=${prefix}&runtimeStatus=Completed&top=100000&showInput=false`);
    return JSON.parse(r.body).length === expected;
  };
  const startAll = async (count, name, id, input) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < count) {
          const i = next++;
          const r = await request(`${W}/orchestrators/${name}/${id(i)}`, 'POST', JSON.stringify(input(i)));
          if (r.status !== 202) throw new Error(`start failed: ${r.status} ${r.body}`);
        }
      }),
    );
  };
  const t0 = process.hrtime.bigint();
  const orch = await measureCpu([host.child.pid, azurite.child.pid], async () => {
    await startAll(ORCHESTRATIONS, 'Chain', (i) => `bench-${i}`, (i) => i);
    // Polled sparingly: listing every instance is itself work for the host and the storage.
    await waitFor(() => completed('bench-', ORCHESTRATIONS), 'orchestrations', 600000, 250);
  });
  const orchSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  // Refresh loops: LOOPS instances, first due times spread over one period, LOOP_ROUNDS rounds each.
  const loopRun = await measureCpu([host.child.pid, azurite.child.pid], async () => {
    await startAll(LOOPS, 'RefreshLoop', (i) => `loop-${i}`, (i) => ({ everyMs: LOOP_EVERY_MS, firstMs: Math.floor((i * LOOP_EVERY_MS) / LOOPS), rounds: LOOP_ROUNDS }));
    await waitFor(() => completed('loop-', LOOPS), 'refresh loops', LOOP_EVERY_MS * (LOOP_ROUNDS + 2) + 120000, 1000);
  });
  const late = [];
  let token;
  do {
    const r = await request(`${W}/instances?instanceIdPrefix=loop-&top=1000&showInput=false`, 'GET', undefined, token ? { 'x-ms-continuation-token': token } : {});
    for (const s of JSON.parse(r.body)) late.push(...s.output);
    token = r.headers['x-ms-continuation-token'];
  } while (token);
  const cycles = LOOPS * LOOP_ROUNDS;

  const rows = [
    ['trivial HTTP trigger on devhost', `${hostRun.result.toFixed(0)} req/s  (${fmtCpu(hostRun.spent[0], REQUESTS, 'request')})`],
    ['bare node:http, same body', `${bareRun.result.toFixed(0)} req/s  (${fmtCpu(bareRun.spent[0], REQUESTS, 'request')})`],
    ['ratio devhost / bare', `${(hostRun.result / bareRun.result).toFixed(2)}`],
    ['latency at concurrency 1, devhost', `p50 ${hostLatency.p50.toFixed(2)} ms, p99 ${hostLatency.p99.toFixed(2)} ms`],
    ['latency at concurrency 1, bare', `p50 ${bareLatency.p50.toFixed(2)} ms, p99 ${bareLatency.p99.toFixed(2)} ms`],
    [`orchestrations (3 activities each, ${ORCHESTRATIONS})`, `${(ORCHESTRATIONS / orchSeconds).toFixed(1)} orch/s (${orchSeconds.toFixed(2)} s)`],
    ['  CPU per orchestration: host, storage', `${fmtCpu(orch.spent[0], ORCHESTRATIONS, 'orch')}, ${fmtCpu(orch.spent[1], ORCHESTRATIONS, 'orch')}`],
    [`refresh loops (${LOOPS} × ${LOOP_ROUNDS} rounds, every ${LOOP_EVERY_MS} ms)`, `lateness p50 ${percentile(late, 0.5)} ms, p99 ${percentile(late, 0.99)} ms, max ${percentile(late, 1)} ms`],
    ['  CPU per refresh cycle: host, storage', `${fmtCpu(loopRun.spent[0], cycles, 'cycle')}, ${fmtCpu(loopRun.spent[1], cycles, 'cycle')}`],
  ];
  console.log(`devhost bench: ${REQUESTS} requests per server at concurrency ${CONCURRENCY}, loopback, ${os.cpus().length} CPUs`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(46)} ${v}`);
  const hostExited = new Promise((r) => host.child.once('exit', r));
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([hostExited, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
