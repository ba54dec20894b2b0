import { BrokerApiError } from '../../../sdk/src';

/** The BrokerApiError a promise rejects with (fails the test when it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<BrokerApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerApiError);
  return error as BrokerApiError;
}
