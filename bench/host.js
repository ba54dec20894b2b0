#!/usr/bin/env node
'use strict';
/**
 * devhost benchmark (run after `npm run build`): requests/second of a trivial HTTP trigger on the host
 * versus a bare node:http server returning the same body, side by side in one run, and
 * orchestrations/second for a three-activity orchestration. Loopback only, bounded loops.
 *
 *   node bench/host.js [--requests 20000] [--concurrency 32] [--orchestrations 300] [--profile <dir>]
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
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  children.push(child);
  return { child, output: () => out };
}

async function waitFor(check, what, ms = 30000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function request(url, method = 'GET', body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
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

async function main() {
  // Storage: a private in-memory Azurite.
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  run([path.join(ROOT, 'node_modules/azurite/dist/src/azurite.js'), '--silent', '--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--disableTelemetry',
    '--blobPort', String(blob), '--queuePort', String(queue), '--tablePort', String(table)]);
  await waitFor(() => listening(table), 'Azurite');
  const storage = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};TableEndpoint=http://127.0.0.1:${table}/devstoreaccount1;BlobEndpoint=http://127.0.0.1:${blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:${queue}/devstoreaccount1;`;

  // The fixture app, with node_modules linked to this repository's packages.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'devhost-bench-'));
  fs.cpSync(path.join(ROOT, 'test/devhost/fixture-app'), app, { recursive: true });
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
  run(['-e', `require('http').createServer((q,s)=>{s.writeHead(200,{'content-type':'text/plain;charset=UTF-8','content-length':'12'});s.end('literal wins')}).listen(${barePort},'127.0.0.1')`]);
  await waitFor(() => listening(barePort), 'bare server');

  const hostUrl = `http://127.0.0.1:${hostPort}/api/echo/special`;
  const bareUrl = `http://127.0.0.1:${barePort}/`;
  if ((await request(hostUrl)).body !== (await request(bareUrl)).body) throw new Error('bodies differ');
  await load(hostUrl, Math.min(2000, REQUESTS));
  await load(bareUrl, Math.min(2000, REQUESTS));
  const hostRps = await load(hostUrl, REQUESTS);
  const bareRps = await load(bareUrl, REQUESTS);

  // Orchestrations: ORCHESTRATIONS instances of Chain (three activities in sequence), 50 starts in flight.
  const W = `http://127.0.0.1:${hostPort}/runtime/webhooks/durabletask`;
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < ORCHESTRATIONS) {
        const i = next++;
        const r = await request(`${W}/orchestrators/Chain/bench-${i}`, 'POST', String(i));
        if (r.status !== 202) throw new Error(`start failed: ${r.status} ${r.body}`);
      }
    }),
  );
  await waitFor(async () => {
    const r = await request(`${W}/instances?instanceIdPrefix=bench-&runtimeStatus=Completed&top=100000&showInput=false`);
    return JSON.parse(r.body).length === ORCHESTRATIONS;
  }, 'orchestrations', 600000);
  const orchSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  const rows = [
    ['trivial HTTP trigger on devhost', `${hostRps.toFixed(0)} req/s`],
    ['bare node:http, same body', `${bareRps.toFixed(0)} req/s`],
    ['ratio devhost / bare', `${(hostRps / bareRps).toFixed(2)}`],
    [`orchestrations (3 activities each, ${ORCHESTRATIONS})`, `${(ORCHESTRATIONS / orchSeconds).toFixed(1)} orch/s (${orchSeconds.toFixed(2)} s)`],
  ];
  console.log(`devhost bench: ${REQUESTS} requests per server at concurrency ${CONCURRENCY}, loopback, ${os.cpus().length} CPUs`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(46)} ${v}`);
  // `--json`: one last line for bench/run.js.
  if ('json' in args) console.log(JSON.stringify({ requests: REQUESTS, concurrency: CONCURRENCY, hostRps, bareRps, ratio: hostRps / bareRps, orchestrations: ORCHESTRATIONS, orchestrationsPerSecond: ORCHESTRATIONS / orchSeconds, orchestrationSeconds: orchSeconds }));
  const hostExited = new Promise((r) => host.child.once('exit', r));
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([hostExited, new Promise((r) => setTimeout(r, 5000))]);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
