'use strict';
// The flooding client of the tenant-isolation figure, in its own process (forked with IPC) so its
// own cost never shares an event loop with the clients being timed. Open loop: each kind of request
// is sent at ten times its limit's rate (a real flood does not wait for answers), paced every 10 ms,
// until the parent sends "stop"; then it answers the statuses seen, by kind, and exits.
//   fork(flood-process.js, [JSON {baseUrl, key, connectionId, perSecond: {start, refresh, proxy}, maxInFlight}])
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const { baseUrl, key, connectionId, perSecond, maxInFlight } = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
const auth = { authorization: `Bearer ${key}` };
const REQUESTS = {
  start: { method: 'POST', path: '/api/connections', body: JSON.stringify({ provider: 'oidc' }) },
  refresh: { method: 'POST', path: `/api/connections/${connectionId}/refresh` },
  proxy: { method: 'GET', path: `/api/connections/${connectionId}/proxy/me` },
};
const TICK_MS = 10;
// No bound on the run other than the parent's stop, except this one, so a lost parent stops it too.
const MAX_RUN_MS = 120_000;

const statuses = { start: [], refresh: [], proxy: [] };
let inFlight = 0;
/** Sends the pace asked for but held back because `maxInFlight` were already waiting. */
let heldBack = 0;

function send(kind) {
  if (inFlight >= maxInFlight) {
    heldBack += 1;
    return;
  }
  inFlight += 1;
  const { method, path, body } = REQUESTS[kind];
  const headers = body ? { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : auth;
  const request = http.request(`${baseUrl}${path}`, { method, agent, headers }, (response) => {
    response.resume();
    response.on('end', () => done(kind, response.statusCode));
  });
  request.setTimeout(60_000, () => request.destroy());
  request.on('error', () => done(kind, 0));
  request.end(body);
}

function done(kind, status) {
  inFlight -= 1;
  statuses[kind].push(status);
}

const startedAt = performance.now();
const sent = { start: 0, refresh: 0, proxy: 0 };
const pacer = setInterval(() => {
  const elapsedS = (performance.now() - startedAt) / 1000;
  for (const kind of Object.keys(sent)) {
    while (sent[kind] < Math.floor(elapsedS * perSecond[kind]) + 1) {
      sent[kind] += 1;
      send(kind);
    }
  }
}, TICK_MS);

let finishing = false;
function finish() {
  if (finishing) return;
  finishing = true;
  clearInterval(pacer);
  const waitForAnswers = setInterval(() => {
    if (inFlight > 0 && performance.now() - startedAt < MAX_RUN_MS + 60_000) return;
    clearInterval(waitForAnswers);
    agent.destroy();
    process.send({ statuses, heldBack, seconds: (performance.now() - startedAt) / 1000 }, () => process.exit(0));
  }, 20);
}

process.on('message', (message) => {
  if (message === 'stop') finish();
});
process.on('disconnect', () => process.exit(1));
setTimeout(finish, MAX_RUN_MS).unref();
process.send('started');
