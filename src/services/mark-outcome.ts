/**
 * Records how an authorization attempt ended without credentials (expired, denied or failed) and
 * retires its pending row: settled or superseded, the attempt's secrets are no longer needed.
 */
import type { MarkOutcomeInput } from '../durable/contract';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export async function markOutcome(runtime: Runtime, input: MarkOutcomeInput): Promise<void> {
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  if (!stored) {
    await runtime.authorizations.retire(input.authorizationId, runtime.clock.now().toISOString());
    return;
  }
  const attempt = input.status === 'denied' ? await runtime.authorizations.get(input.authorizationId) : undefined;
  const at = runtime.clock.now().toISOString();
  const saved = await saveWithRetry(runtime, stored, (connection) => {
    // Only the attempt still in progress may be settled; a newer attempt or a revocation wins.
    if (connection.authorizationId !== input.authorizationId || connection.status !== 'awaiting_callback') return undefined;
    const error =
      input.status === 'denied'
        ? { code: 'OAUTH_ACCESS_DENIED', message: attempt?.callback?.errorDescription ?? 'the user denied the authorization', providerError: attempt?.callback?.error, at }
        : input.status === 'expired'
          ? { code: 'STATE_EXPIRED', message: 'no callback arrived before the authorization expired', at }
          : { code: input.errorCode ?? 'INTERNAL', message: input.errorMessage ?? 'authorization failed', at };
    return { next: { ...connection, status: input.status, updatedAt: at, error }, change: {} };
  });
  if (saved) {
    await runtime.audit.record({
      connectionId: input.connectionId,
      clientId: input.clientId,
      type: input.status,
      at,
      about: input.authorizationId,
      details: { errorCode: saved.connection.error?.code },
    });
  }
  await runtime.authorizations.retire(input.authorizationId, at);
}
