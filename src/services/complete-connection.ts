/**
 * Session binding (RFC 9700 §4.7; the MCP authorization spec's URL-mode elicitation rule that the user
 * who started the flow is the one who finishes it). A client that sends `bindingChallenge` =
 * BASE64URL(SHA-256(verifier)) with POST /connections keeps the verifier in its user's session. The
 * callback hands the browser a single-use completion code on the way back to `returnTo`; only the
 * client's backend holding both the code and the verifier turns `awaiting_confirmation` into
 * `connected`. Anything else (a link forwarded to another person, a reused code, a wrong verifier)
 * revokes the connection: the credentials are erased and never handed out.
 *
 * With `onExistingAccount: "update"` the merge into the connection already holding the account waits
 * for this confirmation too (src/services/merge-account.ts): a refused one leaves the holder as it was.
 */
import { hashState, randomToken, timingSafeEqualString } from '../crypto/tokens';
import { toConnectionView, type Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { isRunning, raiseConnectionEvent } from '../durable/client';
import { Events } from '../durable/names';
import { codeChallengeS256 } from '../oauth/oauth2/pkce';
import type { AuthorizationAttempt } from '../storage/authorizations-repo';
import type { StoredConnection } from '../storage/connections-repo';
import { completeMerge, findAccountHolder, markConfirmedMerging } from './merge-account';
import { revokeConnection } from './revoke';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export interface CompleteRequest {
  completionCode: string;
  bindingVerifier: string;
}

/** POST /connections: a binding needs a `returnTo` (the code travels there) and may be required per client. */
export function assertBindingRules(runtime: Pick<Runtime, 'settings'>, clientId: string, request: { bindingChallenge?: string; returnTo?: string }): void {
  if (request.bindingChallenge === undefined) {
    if (runtime.settings.bindingRequiredClients?.has(clientId)) {
      throw new BrokerError('BINDING_REQUIRED', 'this client must bind its connections to the user session ("bindingChallenge")', { details: { field: 'bindingChallenge' } });
    }
    return;
  }
  if (request.returnTo === undefined) {
    throw new BrokerError('INVALID_REQUEST', '"bindingChallenge" needs "returnTo": the completion code is delivered there', { details: { field: 'returnTo' } });
  }
}

/**
 * The callback's half: one completion code per authorization attempt, issued to the first browser
 * that brings the attempt's callback. A duplicate callback gets none, so a replayed callback URL
 * cannot mint a second code.
 */
export async function issueCompletionCode(runtime: Runtime, attempt: AuthorizationAttempt): Promise<string | undefined> {
  const stored = await runtime.connections.get(attempt.clientId, attempt.connectionId);
  if (!stored?.connection.binding) return undefined;
  const code = randomToken(32);
  const saved = await saveWithRetry(runtime, stored, (connection) => {
    const binding = connection.binding;
    if (!binding || binding.issuedFor === attempt.authorizationId || connection.authorizationId !== attempt.authorizationId) return undefined;
    if (connection.status !== 'awaiting_confirmation') return undefined;
    return { next: { ...connection, binding: { challenge: binding.challenge, codeHash: hashState(code), issuedFor: attempt.authorizationId } }, change: {} };
  });
  return saved ? code : undefined;
}

export const COMPLETE_ACK = { waitMs: 5_000, pollMs: 100, reraiseEveryMs: 1_000 } as const;

/** POST /connections/{id}/complete. */
export async function completeConnection(runtime: Runtime, clientId: string, connectionId: string, request: CompleteRequest) {
  const stored = await runtime.connections.require(clientId, connectionId);
  const { binding, status } = stored.connection;
  if (!binding) throw new BrokerError('INVALID_REQUEST', 'this connection was not started with a "bindingChallenge"');
  if (status === 'revoked') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  if (status === 'awaiting_callback') {
    throw new BrokerError('AUTHORIZATION_PENDING', 'the authorization has not finished yet; retry shortly', { details: { status } });
  }
  if (status !== 'awaiting_confirmation' && !binding.completedAt) {
    throw new BrokerError('CONNECTION_NOT_CONNECTED', `the connection is ${status}`, { details: { status } });
  }

  const matches =
    status === 'awaiting_confirmation' &&
    binding.codeHash !== undefined &&
    binding.issuedFor === stored.connection.authorizationId &&
    timingSafeEqualString(binding.codeHash, hashState(request.completionCode)) &&
    timingSafeEqualString(binding.challenge, codeChallengeS256(request.bindingVerifier));
  const completedAt = runtime.clock.now().toISOString();
  // Only a confirmed grant may reach the connection already holding its account ("update").
  const holder = matches ? await findAccountHolder(runtime, stored.connection, stored.connection.account) : undefined;
  const saved = !matches
    ? undefined
    : holder
      ? await markConfirmedMerging(runtime, stored, binding.codeHash as string, holder, completedAt)
      : await saveWithRetry(runtime, stored, (connection) =>
          connection.status !== 'awaiting_confirmation' || connection.binding?.codeHash !== binding.codeHash
            ? undefined
            : { next: { ...connection, status: 'connected', updatedAt: completedAt, binding: { ...binding, completedAt } }, change: {} },
        );
  // A second completion (even with the right code) counts as reuse: RFC 6749 §4.1.2 treats a reused
  // authorization code the same way, by revoking what it produced.
  if (!saved) return refuse(runtime, stored.connection);

  runtime.tokens.forget(clientId, connectionId);
  if (saved.connection.status === 'merged') return completeBoundMerge(runtime, saved);
  await confirmToOrchestration(runtime, saved.connection.instanceId);
  return toConnectionView(saved.connection);
}

/**
 * The confirmed credentials move onto the holder now, so the answer is the holder's view (`mergedFrom`
 * names this connection, as the unbound flow's redirect does). The orchestration, told next, finishes
 * what a crash here would leave undone (the same steps, idempotent) and ends `merged`.
 */
async function completeBoundMerge(runtime: Runtime, saved: StoredConnection) {
  const { clientId, connectionId, instanceId } = saved.connection;
  const merging = (await runtime.connections.get(clientId, connectionId)) ?? saved;
  const outcome = await completeMerge(runtime, merging, runtime.settings.refreshMarginMs);
  await confirmToOrchestration(runtime, instanceId);
  if (outcome.kind === 'gone') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  if (outcome.kind === 'kept') return toConnectionView(outcome.connection.connection);
  return { ...toConnectionView(outcome.holder.connection), mergedFrom: connectionId };
}

async function refuse(runtime: Runtime, connection: Connection): Promise<never> {
  const { clientId, connectionId, instanceId } = connection;
  await revokeConnection(runtime, { clientId, connectionId }, {
    code: 'BINDING_REJECTED',
    message: 'the completion code or binding verifier did not match the session that started this connection',
  });
  // The orchestration stops too (its own revoke step finds the row revoked and only notifies).
  await raiseConnectionEvent(runtime.durable, instanceId, Events.Revoke, {}).catch(() => undefined);
  throw new BrokerError('BINDING_REJECTED', 'the completion was refused; the connection was revoked and its credentials erased');
}

/**
 * The row already says `connected`; the orchestration waiting in its confirm phase is told so it
 * starts the refresh loop. An event raised just before the orchestration took its confirm phase is
 * dropped (as on Azure), so it is raised again until the custom status moves on.
 */
async function confirmToOrchestration(runtime: Runtime, instanceId: string): Promise<void> {
  const started = runtime.clock.now().getTime();
  let lastRaise = Number.NEGATIVE_INFINITY;
  while (runtime.clock.now().getTime() - started < COMPLETE_ACK.waitMs) {
    if (runtime.clock.now().getTime() - lastRaise >= COMPLETE_ACK.reraiseEveryMs) {
      lastRaise = runtime.clock.now().getTime();
      await raiseConnectionEvent(runtime.durable, instanceId, Events.Complete, {}).catch(() => undefined);
    }
    const status = await runtime.durable.getStatus(instanceId).catch(() => undefined);
    const phase = (status?.customStatus as { status?: unknown } | undefined)?.status;
    if (!isRunning(status?.runtimeStatus) || (phase !== undefined && phase !== 'awaiting_confirmation' && phase !== 'awaiting_callback')) return;
    await runtime.clock.sleep(COMPLETE_ACK.pollMs);
  }
}
