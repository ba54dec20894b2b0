/**
 * Timer triggers on devhost processes over one Azurite: they fire on their NCRONTAB schedule with the
 * Timer object the programming model hands over, a host that was down over a due time runs it past
 * due, runOnStartup runs at start, and two hosts of one app run each occurrence once (singleton lock).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, type HostProcess, type TestAzurite } from './support';

interface TimerEntry {
  fn: string;
  worker: string;
  started: number;
  ended: number;
  timer: {
    isPastDue: boolean;
    schedule: { adjustForDST: boolean };
    scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  };
}

interface TimerSpec {
  name: string;
  schedule: string;
  runOnStartup?: boolean;
  useMonitor?: boolean;
  busyMs?: number;
}

let azurite: TestAzurite;
let appDir: string;
let scratch: string;
const hosts: HostProcess[] = [];
let caseNo = 0;

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp({}, 'fixture-timer-app');
  scratch = mkdtempSync(path.join(os.tmpdir(), 'devhost-timers-'));
}, 60_000);

afterAll(async () => {
  for (const h of hosts) await h.kill('SIGKILL');
  await azurite?.stop();
  removeDir(appDir);
  removeDir(scratch);
});

/** Each case gets its own host id (so its own locks and statuses) and log file. */
function newCase(timers: TimerSpec[]) {
  caseNo += 1;
  const log = path.join(scratch, `timers-${caseNo}.jsonl`);
  const env = {
    AzureWebJobsStorage: azurite.connectionString,
    AzureFunctionsWebHost__hostid: `timer-case-${caseNo}`,
    TIMER_FIXTURE: JSON.stringify(timers),
    TIMER_LOG: log,
  };
  const entries = (): TimerEntry[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as TimerEntry)
      : [];
  const start = async (workerId: string) => {
    const h = await spawnHost(appDir, { ...env, DEVHOST_WORKER_ID: workerId });
    hosts.push(h);
    return h;
  };
  const waitFor = (what: string, ok: (all: TimerEntry[]) => boolean, timeoutMs = 30_000) =>
    eventually(async () => (ok(entries()) ? entries() : undefined), timeoutMs, what);
  return { entries, start, waitFor };
}

/**
 * Every `step` seconds with the schedule monitor kept on: the extension turns monitoring off for
 * sub-minute schedules whose other fields all cover their whole range, so the hour field lists every
 * hour but the one twelve hours away (never reached while a test runs).
 */
function everySecondsMonitored(step: number): string {
  const skipped = (new Date().getUTCHours() + 12) % 24;
  const hours = Array.from({ length: 24 }, (_, h) => h).filter((h) => h !== skipped);
  return `*/${step} * ${hours.join(',')} * * *`;
}

const ms = (dotnet: string) => Date.parse(dotnet);

test('a timer fires on its schedule and gets the schedule status; a sub-minute wildcard schedule gets none', async () => {
  const c = newCase([
    { name: 'EveryTwoSeconds', schedule: everySecondsMonitored(2) },
    { name: 'EverySecond', schedule: '* * * * * *' },
  ]);
  const host = await c.start('solo');
  const all = await c.waitFor(
    'three runs of each timer',
    (e) => e.filter((x) => x.fn === 'EveryTwoSeconds').length >= 3 && e.filter((x) => x.fn === 'EverySecond').length >= 3,
  );
  await host.kill('SIGTERM');

  const monitored = all.filter((x) => x.fn === 'EveryTwoSeconds');
  for (const [i, e] of monitored.entries()) {
    expect(e.timer.isPastDue).toBe(false);
    expect(e.timer.schedule).toEqual({ adjustForDST: true });
    const status = e.timer.scheduleStatus!;
    // `next` is the occurrence being run: on an even second, in Json.NET's local-time form.
    expect(status.next).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\+00:00$/);
    expect(e.started).toBeGreaterThanOrEqual(ms(status.next) - 50);
    if (i > 0) {
      const previous = monitored[i - 1].timer.scheduleStatus!;
      expect(ms(status.next)).toBeGreaterThan(ms(previous.next));
      // `last` is when the previous occurrence ran (not before it was due), and lastUpdated with it.
      expect(ms(status.last)).toBeGreaterThanOrEqual(ms(previous.next));
      expect(ms(status.last)).toBeLessThan(ms(status.next));
      expect(status.lastUpdated).toBe(status.last);
    }
  }
  for (const e of all.filter((x) => x.fn === 'EverySecond')) {
    expect(e.timer.scheduleStatus).toBeNull();
    expect(e.timer.isPastDue).toBe(false);
  }
  expect(host.output()).toMatch(/Function EveryTwoSeconds: timerTrigger \*\/2 .* \(schedule monitor on\)/);
  expect(host.output()).not.toMatch(/Function EverySecond: timerTrigger .* \(schedule monitor on\)/);
});

test('a host that was down over a due time runs the missed occurrence past due at start, then keeps the schedule', async () => {
  const c = newCase([{ name: 'PastDue', schedule: everySecondsMonitored(3) }]);
  const first = await c.start('before');
  const [ran] = await c.waitFor('one run', (e) => e.length >= 1);
  await first.kill('SIGTERM');
  // The status written after that run names the following occurrence; wait until it has passed.
  const missed = ms(ran.timer.scheduleStatus!.next) + 3000;
  await eventually(async () => (Date.now() > missed + 500 ? true : undefined), 10_000, 'the next occurrence to pass');

  const second = await c.start('after');
  const all = await c.waitFor('the past-due run and a scheduled one', (e) => e.length >= 3);
  await second.kill('SIGTERM');
  const [pastDue, scheduled] = all.slice(1);
  expect(pastDue.worker).toBe('after');
  expect(pastDue.timer.isPastDue).toBe(true);
  expect(ms(pastDue.timer.scheduleStatus!.next)).toBe(missed);
  expect(second.output()).toContain(`Timer 'PastDue' is past due (missed ${new Date(missed).toISOString()})`);
  expect(scheduled.timer.isPastDue).toBe(false);
  expect(ms(scheduled.timer.scheduleStatus!.next)).toBeGreaterThan(missed);
});

test('runOnStartup runs the function when the host starts, far from its next occurrence, on every start', async () => {
  const c = newCase([{ name: 'Yearly', schedule: '0 0 0 1 1 *', runOnStartup: true }]);
  const nextNewYear = `${new Date().getUTCFullYear() + 1}-01-01T00:00:00+00:00`;
  const first = await c.start('first');
  const [run] = await c.waitFor('the startup run', (e) => e.length >= 1);
  await first.kill('SIGTERM');
  expect(run.timer.isPastDue).toBe(false);
  expect(run.timer.scheduleStatus!.next).toBe(nextNewYear);
  expect(first.output()).toContain("Timer 'Yearly' runs on startup");

  const second = await c.start('second');
  const runs = await c.waitFor('a startup run on the second start', (e) => e.length >= 2);
  await second.kill('SIGTERM');
  expect(runs[1].worker).toBe('second');
  expect(runs[1].timer.isPastDue).toBe(false);
});

test('two hosts of one app run each occurrence once; when the lock holder is killed the other takes the lock over', async () => {
  const c = newCase([{ name: 'Shared', schedule: everySecondsMonitored(1), busyMs: 150 }]);
  const [alpha, beta] = await Promise.all([c.start('alpha'), c.start('beta')]);
  const before = await c.waitFor('five runs', (e) => e.length >= 5);
  const holderId = before[0].worker;
  const [holder, other] = holderId === 'alpha' ? [alpha, beta] : [beta, alpha];
  expect(before.every((e) => e.worker === holderId)).toBe(true);
  expect(holder.output()).toContain(`Worker '${holderId}' acquired the singleton lock 'Host.Functions.Shared.Listener'`);

  await holder.kill('SIGKILL');
  const killedAt = c.entries().length;
  const all = await c.waitFor('five runs on the survivor', (e) => e.slice(killedAt).filter((x) => x.worker !== holderId).length >= 5);
  await other.kill('SIGTERM');

  const survivorId = holderId === 'alpha' ? 'beta' : 'alpha';
  expect(all.slice(killedAt).every((e) => e.worker === survivorId)).toBe(true);
  expect(other.output()).toContain(
    `Worker '${survivorId}' acquired the singleton lock 'Host.Functions.Shared.Listener', taken over from '${holderId}' whose lease expired`,
  );
  // Scheduled runs never repeat an occurrence, across both hosts; runs never overlap in time.
  const scheduled = all.filter((e) => !e.timer.isPastDue).map((e) => e.timer.scheduleStatus!.next);
  expect(new Set(scheduled).size).toBe(scheduled.length);
  const byStart = [...all].sort((a, b) => a.started - b.started);
  for (let i = 1; i < byStart.length; i++) expect(byStart[i].started).toBeGreaterThanOrEqual(byStart[i - 1].ended);
}, 90_000);
