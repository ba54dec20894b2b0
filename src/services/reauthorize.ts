/**
 * POST /connections/{id}/reauthorize: a new authorization attempt for the same connection id. The
 * running orchestration switches to it (event); a finished one is started again. The previous
 * credentials stay sealed in the row until the new exchange replaces them.
 */
import { BrokerError } from '../domain/errors';
import { isRunning, raiseConnectionEvent, raiseOrStart } from '../durable/client';
import { authorizePhaseInput, type ReauthorizeEvent } from '../durable/contract';
import { Events } from '../durable/names';
import type { ProviderDefinition } from '../providers/types';
import { beginAuthorization } from './begin-authorization';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';
import type { StartedConnection } from './start-connection';

export interface ReauthorizeRequest {
  /** Scopes to add: consent is asked for these and every scope already granted (incremental authorization). */
  scopes?: string[];
  /** A session-bound connection may be bound to the session asking now. */
  bindingChallenge?: string;
  /**
   * The successor of the connection's provider (its definition's `successor`): consent is asked
   * there, and the exchange moves the same connection onto it.
   */
  provider?: string;
}

export async function reauthorize(runtime: Runtime, clientId: string, connectionId: string, request: ReauthorizeRequest = {}): Promise<StartedConnection> {
  const stored = await runtime.connections.require(clientId, connectionId);
  if (stored.connection.status === 'revoked') throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  if (stored.connection.grant === 'client_credentials') {
    throw new BrokerError('GRANT_NOT_ALLOWED', 'a client credentials connection has no end user to authorize; POST …/refresh fetches a new token', { details: { grant: stored.connection.grant } });
  }
  if (request.bindingChallenge !== undefined && !stored.connection.binding) {
    throw new BrokerError('INVALID_REQUEST', 'only a connection started with a "bindingChallenge" can be bound again', { details: { field: 'bindingChallenge' } });
  }
  const current = runtime.providers.get(stored.connection.provider);
  // A device connection is authorized again in a browser only where the provider allows that grant.
  if (stored.connection.grant === 'device_code' && !(current.protocol === 'oauth2' && (current.grants ?? ['authorization_code']).includes('authorization_code'))) {
    throw new BrokerError('GRANT_NOT_ALLOWED', `provider "${current.name}" authorizes by device only; start a new connection with grant "device_code"`, { details: { grant: stored.connection.grant } });
  }
  const provider = request.provider === undefined || request.provider === current.name ? current : successorOf(runtime, current, request.provider);
  runtime.limits.admitStart(clientId);
  const now = runtime.clock.now();
  // A successor grants its own scopes: the old provider's say nothing there.
  const scopes =
    provider === current ? unionOf(stored.connection.scopes, request.scopes ?? []) : request.scopes ?? (provider.protocol === 'oauth2' ? provider.defaultScopes : []);
  const attempt = await beginAuthorization(runtime, provider, stored.connection, scopes, now);
  // A bound connection is confirmed again by the session that asks for the new consent.
  const binding = stored.connection.binding ? { challenge: request.bindingChallenge ?? stored.connection.binding.challenge } : undefined;

  const saved = await saveWithRetry(runtime, stored, (connection) =>
    connection.status === 'revoked'
      ? undefined
      : {
          next: {
            ...connection,
            status: 'awaiting_callback',
            authorizationId: attempt.authorizationId,
            authorizationExpiresAt: attempt.expiresAt,
            updatedAt: now.toISOString(),
            error: undefined,
            ...(binding ? { binding } : {}),
          },
          change: {},
        },
  );
  if (!saved) {
    await runtime.authorizations.delete(attempt.authorizationId);
    throw new BrokerError('CONNECTION_REVOKED', 'the connection was revoked');
  }
  // The previous attempt is superseded: a callback for it is refused whatever its row says, so it goes.
  const previous = stored.connection.authorizationId;
  if (previous && previous !== attempt.authorizationId) await runtime.authorizations.delete(previous);
  await runtime.audit.record({
    connectionId,
    clientId,
    type: 'reauthorized',
    at: now.toISOString(),
    about: attempt.authorizationId,
    details: {
      previousStatus: stored.connection.status,
      authorizationExpiresAt: attempt.expiresAt,
      ...(provider === current ? {} : { provider: provider.name }),
    },
  });

  // Awaiting consent again: the old token is not handed out, not even from this process's cache.
  runtime.tokens.forget(clientId, connectionId);

  const deadline = attempt.expiresAt;
  const instanceId = saved.connection.instanceId;
  const outcome = await raiseOrStart(runtime.durable, instanceId, Events.Reauthorize, { authorizationId: attempt.authorizationId, deadline }, () =>
    authorizePhaseInput({ ...saved.connection, provider: provider.name, protocol: provider.protocol }, { authorizationId: attempt.authorizationId, deadline }),
  );
  if (outcome === 'lost') {
    throw new BrokerError('STORAGE_UNAVAILABLE', 'the connection could not be switched to the new authorization; retry', { transient: true });
  }
  if (outcome === 'raised') await awaitAcknowledgement(runtime, instanceId, { authorizationId: attempt.authorizationId, deadline });
  return {
    connectionId,
    provider: provider.name,
    status: 'awaiting_callback',
    authorizationUrl: attempt.authorizationUrl,
    authorizationExpiresAt: attempt.expiresAt,
  };
}

export const REAUTHORIZE_ACK = {
  /** How long the request waits for the orchestration to take the new attempt. */
  waitMs: 5_000,
  pollMs: 100,
  reraiseEveryMs: 1_000,
} as const;

/**
 * An event delivered to an execution that then continues as new is dropped (as on Azure), so the
 * event is raised again until the orchestration's custom status names the new attempt. The row
 * already records the attempt: if this wait runs out, the maintain loop finds it at its next refresh
 * and the watchdog re-raises it, so the request is never lost, only delayed.
 */
async function awaitAcknowledgement(runtime: Runtime, instanceId: string, event: ReauthorizeEvent): Promise<void> {
  const started = runtime.clock.now().getTime();
  let lastRaise = started;
  while (runtime.clock.now().getTime() - started < REAUTHORIZE_ACK.waitMs) {
    const status = await runtime.durable.getStatus(instanceId).catch(() => undefined);
    if (acknowledges(status?.customStatus, event.authorizationId) || !isRunning(status?.runtimeStatus)) return;
    if (runtime.clock.now().getTime() - lastRaise >= REAUTHORIZE_ACK.reraiseEveryMs) {
      lastRaise = runtime.clock.now().getTime();
      await raiseConnectionEvent(runtime.durable, instanceId, Events.Reauthorize, event).catch(() => undefined);
    }
    await runtime.clock.sleep(REAUTHORIZE_ACK.pollMs);
  }
}

function successorOf(runtime: Runtime, current: ProviderDefinition, name: string): ProviderDefinition {
  if (current.successor !== name) {
    throw new BrokerError('PROVIDER_NOT_SUCCESSOR', `"${name}" is not the successor of the connection's provider "${current.name}"`, {
      details: { field: 'provider', ...(current.successor ? { successor: current.successor } : {}) },
    });
  }
  return runtime.providers.get(name);
}

function unionOf(granted: readonly string[], added: readonly string[]): string[] {
  return [...new Set([...granted, ...added])];
}

function acknowledges(customStatus: unknown, authorizationId: string): boolean {
  return typeof customStatus === 'object' && customStatus !== null && (customStatus as { authorizationId?: unknown }).authorizationId === authorizationId;
}
