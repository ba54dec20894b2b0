/** The connection orchestration's device phase (RFC 8628 polling), driven step by step. */
import { connectionOrchestrator } from '../../../src/orchestrations/connection';
import type { DevicePhaseInput, DevicePollResult, ExchangeResult } from '../../../src/durable/contract';
import { Activities, Events } from '../../../src/durable/names';
import { asTask, fakeContext, FakeContext, MarkerTask, win } from './_fake-context';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const REF = { connectionId: 'conn-1', clientId: 'app1', provider: 'tv', protocol: 'oauth2' as const };
const deviceInput: DevicePhaseInput = { ...REF, phase: 'device', authorizationId: 'auth-1', deadline: '2030-01-01T00:10:00.000Z', intervalSeconds: 5 };

interface Run {
  fake: FakeContext;
  gen: Generator<unknown, unknown, unknown>;
  revoke: MarkerTask;
  timer: MarkerTask;
}

function start(input: DevicePhaseInput = deviceInput): Run {
  const fake = fakeContext({ input, now: NOW });
  const gen = connectionOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const race = asTask(gen.next().value);
  expect(race.kind).toBe('any');
  const [revoke, timer] = race.tasks ?? [];
  return { fake, gen, revoke, timer };
}

/** The timer fires; answers the poll it asks for with `result`; returns the step after it. */
function pollAnswers(run: Run, result: DevicePollResult): IteratorResult<unknown> {
  const poll = asTask(run.gen.next(win(run.timer)).value);
  expect(poll).toMatchObject({ kind: 'activityWithRetry', name: Activities.PollDeviceToken, input: { ...REF, authorizationId: 'auth-1' } });
  return run.gen.next(result);
}

const connected: ExchangeResult = { outcome: 'connected', credentialsVersion: 1, issuedAt: NOW.toISOString(), expiresAt: '2030-01-01T01:00:00.000Z', refreshable: true, scopes: ['read'] };

describe('device phase', () => {
  it('waits the interval on a durable timer, raced against a revoke, while the status says awaiting_callback', () => {
    const run = start();
    expect(run.revoke).toMatchObject({ kind: 'event', name: Events.Revoke });
    expect(run.timer.fireAt).toEqual(new Date('2030-01-01T00:00:05.000Z'));
    expect(run.fake.customStatuses).toEqual([{ status: 'awaiting_callback', authorizationId: 'auth-1', deadline: deviceInput.deadline }]);
  });

  it('keeps polling at the same interval while authorization is pending', () => {
    const run = start();
    expect(pollAnswers(run, { outcome: 'pending' }).done).toBe(true);
    expect(run.fake.continuedAsNew).toEqual([deviceInput]);
  });

  it('adds 5 seconds to the interval after slow_down, for every later poll', () => {
    const run = start({ ...deviceInput, intervalSeconds: 10 });
    expect(run.timer.fireAt).toEqual(new Date('2030-01-01T00:00:10.000Z'));
    pollAnswers(run, { outcome: 'slow_down' });
    expect(run.fake.continuedAsNew).toEqual([{ ...deviceInput, intervalSeconds: 15 }]);
  });

  it.each(['denied', 'expired'] as const)('records the outcome when the provider answers %s', (outcome) => {
    const run = start();
    const mark = asTask(pollAnswers(run, { outcome }).value);
    expect(mark).toMatchObject({ name: Activities.MarkOutcome, input: { ...REF, authorizationId: 'auth-1', status: outcome } });
    expect(run.gen.next({ status: outcome })).toEqual({ done: true, value: { status: outcome } });
    expect(run.fake.continuedAsNew).toEqual([]);
  });

  it('never waits past the deadline: the last timer fires at it and the connection expires without another poll', () => {
    const run = start({ ...deviceInput, deadline: '2030-01-01T00:00:03.000Z' });
    expect(run.timer.fireAt).toEqual(new Date('2030-01-01T00:00:03.000Z'));
    const mark = asTask(run.gen.next(win(run.timer)).value);
    expect(mark).toMatchObject({ name: Activities.MarkOutcome, input: { status: 'expired' } });
    expect(run.gen.next({ status: 'expired' })).toEqual({ done: true, value: { status: 'expired' } });
  });

  it('revokes when the revoke event wins, cancelling the timer', () => {
    const run = start();
    const revoke = asTask(run.gen.next(win(run.revoke, {})).value);
    expect(run.timer.cancel).toHaveBeenCalled();
    expect(revoke).toMatchObject({ name: Activities.Revoke });
  });

  it('goes on to the maintain phase once tokens with a refresh token are stored', () => {
    const run = start();
    let step = pollAnswers(run, connected);
    // The connected webhook, then the refresh loop.
    expect(asTask(step.value)).toMatchObject({ name: Activities.EnqueueWebhook, input: expect.objectContaining({ type: 'connection.connected' }) });
    step = run.gen.next();
    expect(step.done).toBe(true);
    expect(run.fake.continuedAsNew).toEqual([expect.objectContaining({ phase: 'maintain', credentialsVersion: 1, failures: 0 })]);
  });

  it('ends failed when the poll fails through every retry', () => {
    const run = start();
    run.gen.next(win(run.timer));
    const mark = asTask(run.gen.throw(new Error('provider down')).value);
    expect(mark).toMatchObject({ name: Activities.MarkOutcome, input: { status: 'failed', errorCode: 'PROVIDER_UNAVAILABLE' } });
  });
});
