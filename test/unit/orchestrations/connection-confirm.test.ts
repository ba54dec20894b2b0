/** The confirm phase of a session-bound connection (issue 17, item 1), driven with a stub context. */
import { connectionOrchestrator } from '../../../src/orchestrations/connection';
import type { AuthorizePhaseInput, ConfirmPhaseInput, ExchangeResult } from '../../../src/durable/contract';
import { Activities, Events } from '../../../src/durable/names';
import { asTask, fakeContext, win } from './_fake-context';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const REF = { connectionId: 'conn-1', clientId: 'app1', provider: 'acme', protocol: 'oauth2' as const };
const CONFIRM_BY = '2030-01-01T00:12:00.000Z';
const exchanged: ExchangeResult = {
  outcome: 'connected',
  credentialsVersion: 1,
  issuedAt: '2030-01-01T00:02:00.000Z',
  expiresAt: '2030-01-01T01:02:00.000Z',
  refreshable: true,
  scopes: ['read'],
  webhooks: false,
  confirmBy: CONFIRM_BY,
};
const confirmInput: ConfirmPhaseInput = { ...REF, phase: 'confirm', authorizationId: 'auth-1', deadline: CONFIRM_BY, exchange: exchanged };

function startConfirm() {
  const fake = fakeContext({ input: confirmInput, now: NOW });
  const gen = connectionOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const race = asTask(gen.next().value);
  const [complete, revoke, reauthorize, timer] = race.tasks ?? [];
  return { fake, gen, race, complete, revoke, reauthorize, timer };
}

test('When a bound connection is exchanged, then it continues as new in the confirm phase, not in the refresh loop', () => {
  const authorize: AuthorizePhaseInput = { ...REF, phase: 'authorize', authorizationId: 'auth-1', deadline: '2030-01-01T00:10:00.000Z' };
  const fake = fakeContext({ input: authorize, now: NOW });
  const gen = connectionOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const race = asTask(gen.next().value);
  gen.next(win(race.tasks![0], { authorizationId: 'auth-1', outcome: 'code' }));
  expect(gen.next(exchanged)).toEqual({ done: true, value: undefined });
  expect(fake.continuedAsNew).toEqual([confirmInput]);
});

test('When the confirm phase starts, then it waits for complete, revoke and reauthorize raced against the confirmation deadline', () => {
  const run = startConfirm();
  expect(run.race.tasks?.map((t) => [t.kind, t.name])).toEqual([
    ['event', Events.Complete],
    ['event', Events.Revoke],
    ['event', Events.Reauthorize],
    ['timer', undefined],
  ]);
  expect(run.timer.fireAt?.toISOString()).toBe(CONFIRM_BY);
  expect(run.fake.customStatuses).toEqual([{ status: 'awaiting_confirmation', authorizationId: 'auth-1', deadline: CONFIRM_BY }]);
});

test('When the client confirms, then the maintain phase starts with the exchange it held', () => {
  const run = startConfirm();
  expect(run.gen.next(win(run.complete, {}))).toEqual({ done: true, value: undefined });
  expect(run.timer.cancel).toHaveBeenCalledTimes(1);
  expect(run.fake.continuedAsNew).toEqual([
    { ...REF, phase: 'maintain', credentialsVersion: 1, issuedAt: exchanged.issuedAt, expiresAt: exchanged.expiresAt, failures: 0, cycle: 0, settledAttempt: 'auth-1' },
  ]);
});

test('When nobody confirms in time, then the outcome activity erases it and the orchestration ends expired', () => {
  const run = startConfirm();
  const mark = asTask(run.gen.next(win(run.timer)).value);
  expect(mark.name).toBe(Activities.MarkOutcome);
  expect(mark.input).toEqual({ ...REF, authorizationId: 'auth-1', status: 'expired' });
  expect(run.gen.next({ status: 'expired' })).toEqual({ done: true, value: { status: 'expired' } });
  expect(run.fake.continuedAsNew).toEqual([]);
});

test('When the confirmation landed but its event was lost, then the deadline finds the row connected and the refresh loop starts', () => {
  const run = startConfirm();
  run.gen.next(win(run.timer));
  expect(run.gen.next({ status: 'connected' })).toEqual({ done: true, value: undefined });
  expect(run.fake.continuedAsNew).toHaveLength(1);
});

test('When the completion is refused (revoke event), then the connection is revoked through the revoke activity', () => {
  const run = startConfirm();
  expect(asTask(run.gen.next(win(run.revoke, {})).value).name).toBe(Activities.Revoke);
});

/** Started with onExistingAccount "update": the confirmation may have merged it into the account's holder. */
function startConfirmMayMerge() {
  const input: ConfirmPhaseInput = { ...confirmInput, exchange: { ...exchanged, mergeOnConfirm: true } };
  const fake = fakeContext({ input, now: NOW });
  const gen = connectionOrchestrator(fake.context) as Generator<unknown, unknown, unknown>;
  const race = asTask(gen.next().value);
  const [complete, , , timer] = race.tasks ?? [];
  return { fake, gen, input, complete, timer };
}

test('When a bound "update" is confirmed into its holder, then the exchange is asked again and the orchestration ends merged, without a refresh loop', () => {
  const run = startConfirmMayMerge();
  const settle = asTask(run.gen.next(win(run.complete, {})).value);
  expect(settle.name).toBe(Activities.Exchange);
  expect(settle.input).toEqual({ ...REF, authorizationId: 'auth-1' });
  const webhook = asTask(run.gen.next({ ...exchanged, outcome: 'merged', mergedInto: 'conn-0', confirmBy: undefined, webhooks: true }).value);
  expect(webhook.name).toBe(Activities.EnqueueWebhook);
  expect(webhook.input).toEqual(expect.objectContaining({ connectionId: 'conn-0', type: 'connection.connected' }));
  expect(run.gen.next(undefined)).toEqual({ done: true, value: { status: 'merged' } });
  expect(run.fake.continuedAsNew).toEqual([]);
  expect(run.fake.customStatuses.at(-1)).toEqual({ status: 'merged' });
});

test('When a bound "update" found no holder at its confirmation, then the exchange answers connected and the refresh loop starts from the held exchange', () => {
  const run = startConfirmMayMerge();
  run.gen.next(win(run.complete, {}));
  expect(run.gen.next({ ...exchanged, confirmBy: undefined })).toEqual({ done: true, value: undefined });
  expect(run.fake.continuedAsNew).toEqual([
    { ...REF, phase: 'maintain', credentialsVersion: 1, issuedAt: exchanged.issuedAt, expiresAt: exchanged.expiresAt, failures: 0, cycle: 0, settledAttempt: 'auth-1' },
  ]);
});

test('When the deadline finds a bound "update" recorded as merged (its event lost), then the exchange finishes the merge', () => {
  const run = startConfirmMayMerge();
  run.gen.next(win(run.timer));
  expect(asTask(run.gen.next({ status: 'merged' }).value).name).toBe(Activities.Exchange);
  expect(run.gen.next({ ...exchanged, outcome: 'merged', mergedInto: 'conn-0' })).toEqual({ done: true, value: { status: 'merged' } });
});

test('When settling a bound "update" fails through every retry, then the confirm phase runs again to settle it later', () => {
  const run = startConfirmMayMerge();
  run.gen.next(win(run.complete, {}));
  expect(run.gen.throw(new Error('storage unavailable'))).toEqual({ done: true, value: undefined });
  expect(run.fake.continuedAsNew).toEqual([run.input]);
});
