/**
 * GET /api/health's check against a real Azurite: one round trip serves every check that arrives
 * while it runs and, once it succeeded, the checks of the next second; a failure is not kept.
 */
import { HEALTH_FRESH_MS, StorageHealth } from '../../src/services/health';
import { storageRoundTrip } from '../../src/storage/tables';
import { AzuriteInstance, startAzurite } from '../support/azurite';
import { FakeClock } from './_world';

let azurite: AzuriteInstance;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

/** The real round trip, counted; `failNext` makes the next one fail as an unreachable account would. */
function countedRoundTrip() {
  const real = storageRoundTrip({ AzureWebJobsStorage: azurite.connectionString });
  const state = { calls: 0, failNext: false };
  const roundTrip = async () => {
    state.calls += 1;
    if (state.failNext) {
      state.failNext = false;
      throw new Error('storage is down');
    }
    await real();
  };
  return { state, roundTrip };
}

test('checks that arrive while a round trip runs share it, and its success answers the next second of checks without another', async () => {
  const clock = new FakeClock();
  const { state, roundTrip } = countedRoundTrip();
  const health = new StorageHealth(clock, roundTrip);

  await Promise.all(Array.from({ length: 20 }, () => health.check()));
  expect(state.calls).toBe(1);

  clock.advance(HEALTH_FRESH_MS - 1);
  await health.check();
  expect(state.calls).toBe(1);

  clock.advance(1);
  await health.check();
  expect(state.calls).toBe(2);
});

test('when a round trip fails, then every check waiting on it fails, and the next check tries storage again', async () => {
  const clock = new FakeClock();
  const { state, roundTrip } = countedRoundTrip();
  const health = new StorageHealth(clock, roundTrip);
  state.failNext = true;

  const waiting = await Promise.allSettled([health.check(), health.check(), health.check()]);
  expect(waiting.map((w) => (w.status === 'rejected' ? String(w.reason) : w.status))).toEqual(Array(3).fill('Error: storage is down'));
  expect(state.calls).toBe(1);

  await health.check();
  expect(state.calls).toBe(2);
});
