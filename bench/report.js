#!/usr/bin/env node
'use strict';
/**
 * Renders bench/results/latest.json (or the file given) as the Markdown table of
 * docs/benchmarks.md "Latest figures":  node bench/report.js [results.json]
 */
const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2] ?? path.join(__dirname, 'results', 'latest.json');
const result = JSON.parse(fs.readFileSync(file, 'utf8'));

const num = (v) => (typeof v === 'number' ? String(Math.round(v * 100) / 100) : v ?? '—');
const latency = (x) => (x && x.p50Ms !== undefined ? `p50 ${num(x.p50Ms)} ms, p99 ${num(x.p99Ms)} ms` : '');
const phases = (p) => (p ? ` (mean ms: ${Object.entries(p).map(([k, v]) => `${k} ${num(v)}`).join(', ')})` : '');
const rate = (x) => (x && x.requestsPerSecond !== undefined ? `${num(x.requestsPerSecond)} req/s` : '');

function cells(f) {
  const m = f.measured ?? {};
  const b = f.baseline ?? {};
  switch (true) {
    case f.id.startsWith('authorization-flows'):
      return [`${m.connected}/${m.flows} connected; mean ${num(m.meanMs)} ms, ${latency(m)}; one at a time p50 ${num(m.oneAtATime?.p50Ms)} ms${phases(m.oneAtATime?.phasesMeanMs)}`, `mean ${num(b.meanMs)} ms, ${latency(b)}; one at a time p50 ${num(b.oneAtATime?.p50Ms)} ms`];
    case f.id.startsWith('token-reads'):
      return [`${rate(m)}, ${latency(m)}`, `trivial function ${rate(b.trivialFunction)}, ${latency(b.trivialFunction)}; bare proxy ${rate(b.bareProxy)}; bare ${rate(b.bare)}`];
    case f.id.startsWith('host-pipeline'):
      return [`trivial function ${rate(m)}, ${latency(m)}`, `bare proxy ${rate(b.bareProxy)}, ${latency(b.bareProxy)}; bare ${rate(b.bare)}`];
    case f.id.startsWith('proxy'):
      return [`${rate(m)}, ${latency(m)}; added p50 ${num(m.addedP50Ms)} ms; ${num(m.rpsVsTrivialFunction)}× the trivial function's req/s`, `trivial function ${rate(b.trivialFunction)}, ${latency(b.trivialFunction)}; bare proxy ${rate(b.bareProxy)}, ${latency(b.bareProxy)}; direct ${rate(b.direct)}, ${latency(b.direct)}`];
    case f.id === 'flow-storage-requests':
      return [`${num(m.requestsPerFlow)} requests per flow; by phase ${Object.entries(m.byPhase).map(([k, v]) => `${k} ${num(v)}`).join(', ')}${m.byTarget ? `; by request ${Object.entries(m.byTarget).map(([k, v]) => `${k} ${num(v)}`).join(', ')}` : ''}`, `idle ${num(m.idleRequestsPerSecond)}/s subtracted`];
    case f.id.startsWith('profile-'):
      return [`top self time: ${m.top.slice(0, 8).map((t) => `${t.selfPercent}% ${t.frame}`).join('; ')}`, `self by owner: ${Object.entries(m.byOwner).map(([k, v]) => `${k} ${v}%`).join(', ')}; inclusive: ${Object.entries(m.inclusive ?? {}).map(([k, v]) => `${k} ${v}%`).join(', ')}`];
    case f.id === 'refresh-lateness':
      return [`${m.connections}/${m.requested ?? m.connections} connections, ${m.refreshesJudged} refreshes judged, ${m.missed} missed, ${m.failedRefreshes} refused; lateness ${latency(m)}`, 'scheduled due time'];
    case f.id === 'refresh-storage-operations':
      return [`${num(m.operationsPerRefresh)} operations (${num(m.requestsPerRefresh)} requests, ${num(m.batchesPerRefresh)} batches) per refresh over ${m.refreshes} refreshes`, '—'];
    case f.id === 'refresh-memory':
      return [`${num(m.afterCreateMiB)} MiB after creating, max ${num(m.maxMiB)}, end ${num(m.endMiB)}`, `idle ${num(b.idleMiB)} MiB`];
    case f.id === 'history-per-instance':
      return [`${m.historyEvents} events, ${m.storageRowsInPartition} rows at cycle ≥ ${m.cycleAtLeast} (${m.instancesReached} instances)`, `${b.historyEvents} events, ${b.storageRowsInPartition} rows at cycle ≤ ${b.cycleAtMost}`];
    case f.id === 'devhost':
      return [`${rate(m)}; ${num(m.orchestrationsPerSecond)} orchestrations/s`, rate(b)];
    case f.id === 'oauth1-signing':
      return [`${num(m.microsecondsPerSignedRequest)} µs`, `${num(b.microsecondsPerHmac)} µs`];
    default:
      return [JSON.stringify(m), JSON.stringify(b)];
  }
}

const lines = [
  `${result.mode} run of ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${result.durationSeconds} s, ${result.machine.cpus} CPUs (${result.machine.cpuModel}), node ${result.machine.node}; load average ${(result.machine.loadAverageAtStart ?? []).map(num).join(' ')} at the start, ${(result.machine.loadAverageAtEnd ?? []).map(num).join(' ')} at the end.`,
  '',
  '| figure | measured | baseline | ratio | aim | verdict |',
  '|---|---|---|---|---|---|',
];
for (const f of result.figures) {
  const [measured, baseline] = cells(f);
  const verdict = f.met === null ? 'info' : f.met ? 'met' : `**unmet**: ${f.reason}`;
  lines.push(`| ${f.title} | ${measured} | ${baseline} | ${f.ratio ?? '—'} | ${f.aim} | ${verdict.replace(/\|/g, '/')} |`);
}
for (const failure of result.failures ?? []) lines.push('', `Section \`${failure.section}\` failed: ${failure.error.split('\n')[0]}`);
console.log(lines.join('\n'));
