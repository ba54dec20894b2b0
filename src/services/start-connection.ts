/**
 * POST /connections: records the connection, begins the authorization right here (so the URL is
 * answered without waiting for an orchestration round trip), then starts the connection's
 * orchestration under the client-namespaced instance id. Connection ids are unique per client only:
 * another client's id is no obstacle and reveals nothing.
 */
import { randomToken } from '../crypto/tokens';
import type { Connection, OnExistingAccount } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { isReturnUrlAllowed } from '../config/return-urls';
import { authorizePhaseInput } from '../durable/contract';
import { beginAuthorization } from './begin-authorization';
import { assertBindingRules } from './complete-connection';
import { launchConnection, newConnectionRow } from './new-connection';
import type { Runtime } from './runtime';
import { startDeviceConnection, type StartedDeviceConnection } from './start-device-connection';
import { assertGrantAllowed, startMachineConnection, type StartedMachineConnection } from './start-machine-connection';

export interface StartConnectionRequest {
  provider: string;
  scopes?: string[];
  connectionId?: string;
  endUserId?: string;
  returnTo?: string;
  metadata?: Record<string, unknown>;
  /** S256 of a verifier kept in the end user's session: the connection then needs POST …/complete. */
  bindingChallenge?: string;
  /** `update`: connecting an account this end user already connected updates that connection (src/services/merge-account.ts). */
  onExistingAccount?: OnExistingAccount;
  /** Absent: the authorization code grant (or OAuth 1.0a). */
  grant?: 'client_credentials' | 'device_code';
}

export interface StartedConnection {
  connectionId: string;
  provider: string;
  status: 'awaiting_callback';
  authorizationUrl: string;
  authorizationExpiresAt: string;
}

/** 16 random bytes = 128 bits, base64url. */
export function newConnectionId(): string {
  return randomToken(16);
}

export async function startConnection(runtime: Runtime, clientId: string, request: StartConnectionRequest & { grant?: undefined }): Promise<StartedConnection>;
export async function startConnection(runtime: Runtime, clientId: string, request: StartConnectionRequest): Promise<StartedConnection | StartedMachineConnection | StartedDeviceConnection>;
export async function startConnection(runtime: Runtime, clientId: string, request: StartConnectionRequest): Promise<StartedConnection | StartedMachineConnection | StartedDeviceConnection> {
  if (request.returnTo !== undefined && !isReturnUrlAllowed(request.returnTo, runtime.settings.allowedReturnUrls)) {
    throw new BrokerError('RETURN_URL_NOT_ALLOWED', '"returnTo" is not an allowed return URL', { details: { field: 'returnTo' } });
  }
  assertBindingRules(runtime, clientId, request);
  const provider = runtime.providers.get(request.provider);
  if (!runtime.providers.isConfigured(provider.name)) {
    throw new BrokerError('UNKNOWN_PROVIDER', `provider "${request.provider}" is not configured`);
  }
  assertGrantAllowed(provider, request.grant ?? 'authorization_code');
  // Limits before anything is written or sent to the provider.
  runtime.limits.admitStart(clientId);
  const connectionId = request.connectionId ?? newConnectionId();
  const quota = await runtime.limits.assertConnectionQuota(runtime.connections, clientId, connectionId);
  const now = runtime.clock.now();
  if (request.grant === 'client_credentials' && provider.protocol === 'oauth2') {
    return startMachineConnection(runtime, clientId, provider, { ...request, connectionId }, now, quota);
  }
  if (request.grant === 'device_code' && provider.protocol === 'oauth2') {
    return startDeviceConnection(runtime, clientId, provider, { ...request, connectionId }, now, quota);
  }
  const connection: Connection = {
    ...newConnectionRow(
      {
        clientId,
        connectionId,
        provider: provider.name,
        protocol: provider.protocol,
        status: 'awaiting_callback',
        scopes: request.scopes ?? (provider.protocol === 'oauth2' ? provider.defaultScopes : []),
        endUserId: request.endUserId,
        metadata: request.metadata,
      },
      now,
    ),
    returnTo: request.returnTo,
    ...(request.bindingChallenge ? { binding: { challenge: request.bindingChallenge } } : {}),
    ...(request.onExistingAccount === 'update' ? { onExistingAccount: 'update' as const } : {}),
  };
  // The pending row first, then the connection row in one insert that already names the attempt (the
  // insert is the only uniqueness check: a second start with this id gets CONNECTION_EXISTS from it).
  const attempt = await beginAuthorization(runtime, provider, connection, connection.scopes, now);
  const awaiting: Connection = {
    ...connection,
    authorizationId: attempt.authorizationId,
    authorizationExpiresAt: attempt.expiresAt,
  };
  try {
    await runtime.connections.create(awaiting, quota);
  } catch (error) {
    // Nothing was handed out: drop the orphan attempt; CONNECTION_EXISTS reaches the client.
    await runtime.authorizations.delete(attempt.authorizationId).catch(() => undefined);
    throw error;
  }

  const input = authorizePhaseInput(awaiting, { authorizationId: attempt.authorizationId, deadline: attempt.expiresAt });
  await launchConnection(runtime, awaiting, input, { scopes: connection.scopes, authorizationExpiresAt: attempt.expiresAt });

  return {
    connectionId: connection.connectionId,
    provider: provider.name,
    status: 'awaiting_callback',
    authorizationUrl: attempt.authorizationUrl,
    authorizationExpiresAt: attempt.expiresAt,
  };
}
