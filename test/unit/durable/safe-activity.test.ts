import { BrokerError } from '../../../src/domain/errors';
import { safeActivity } from '../../../src/durable/safe-activity';

test('when an activity fails, then only its code and a redacted first line leave it (history persists exceptions)', async () => {
  const failing = safeActivity(async () => {
    throw new BrokerError('PROVIDER_UNAVAILABLE', 'POST https://id.example/token?code=SECRETCODE failed\nsecond line');
  });
  const error = await failing(undefined).catch((e: Error) => e);
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(/^PROVIDER_UNAVAILABLE: /);
  expect((error as Error).message).not.toContain('SECRETCODE');
  expect((error as Error).message).not.toContain('second line');
  expect((error as Error).stack).not.toMatch(/\bat /);
});

test('when an activity succeeds, then its result passes through unchanged', async () => {
  await expect(safeActivity(async (n: number) => n * 2)(21)).resolves.toBe(42);
});
