'use strict';
// One request at a time over one keep-alive connection, timed with hrtime, in its own process: the
// c=1 latency figures need sub-millisecond resolution, which autocannon's histograms (whole
// milliseconds) do not give.  node latency-probe.js <url> <seconds> [headers-json] [expect-status]
const http = require('node:http');

const [url, seconds, headersJson, expectStatus] = process.argv.slice(2);
const headers = JSON.parse(headersJson || '{}');
const expect = Number(expectStatus || 200);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once() {
  return new Promise((resolve) => {
    const req = http.request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === expect));
    });
    req.setTimeout(30_000, () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function main() {
  const samples = [];
  let errors = 0;
  const started = process.hrtime.bigint();
  const end = started + BigInt(Math.round(Number(seconds) * 1e9));
  while (process.hrtime.bigint() < end) {
    const t = process.hrtime.bigint();
    if (!(await once())) errors++;
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  samples.sort((a, b) => a - b);
  const at = (p) => samples[Math.min(samples.length - 1, Math.max(0, Math.ceil(p * samples.length) - 1))];
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  process.stdout.write(`${JSON.stringify({ count: samples.length, elapsedMs, meanMs: mean, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), errors })}\n`);
  agent.destroy();
}
main();
