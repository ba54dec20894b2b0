/**
 * POST /connections with `grant: "client_credentials"` (RFC 6749 §4.4): a machine-to-machine
 * connection, with no end user and no callback. The row starts `refreshing` with nothing issued yet
 * (credentials version 0) and due at once, and the orchestration starts straight in its maintain
 * phase: its first refresh fetches the first token with the grant, and every later one fetches a new
 * token the same way before the last one expires. The start waits a few seconds for that first
 * token, so the answer normally says `connected`; otherwise it says where the connection stands and
 * the client polls GET /connections/{id} (a token read meanwhile waits for the first token too).
 */
import { isSettled, type Connection, type ConnectionStatus } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { maintainPhaseInput } from '../durable/contract';
import type { OAuth2ProviderDefinition, ProviderDefinition } from '../providers/types';
import type { StoredConnection } from '../storage/connections-repo';
import { launchConnection, newConnectionRow } from './new-connection';
import type { Runtime } from './runtime';
import { waitForConnection } from './wait-for-connection';
import type { QuotaCheck } from './limits';

export const MACHINE_START_TIMINGS = {
  /** How long POST /connections waits for the first token before answering with the status it has. */
  firstTokenWaitMs: 5_000,
  pollIntervalMs: 100,
} as const;

export interface StartedMachineConnection {
  connectionId: string;
  provider: string;
  grant: 'client_credentials';
  status: ConnectionStatus;
  scopes: string[];
  expiresAt: string | null;
  error?: { code: string; message: string };
}

export interface MachineConnectionRequest {
  connectionId: string;
  scopes?: string[];
  endUserId?: string;
  metadata?: Record<string, unknown>;
}

/** The provider must list the grant: a client's own credentials are not every provider's to use this way. */
export function assertGrantAllowed(provider: ProviderDefinition, grant: string): void {
  // OAuth 1.0a has one way to connect, the browser round trip the authorization code grant also takes.
  const grants = provider.protocol === 'oauth2' ? (provider.grants ?? ['authorization_code']) : ['authorization_code'];
  if (!grants.includes(grant)) {
    throw new BrokerError('GRANT_NOT_ALLOWED', `provider "${provider.name}" does not allow grant "${grant}"`, {
      details: { field: 'grant', provider: provider.name, allowed: grants },
    });
  }
}

export async function startMachineConnection(
  runtime: Runtime,
  clientId: string,
  provider: OAuth2ProviderDefinition,
  request: MachineConnectionRequest,
  now: Date,
  known?: QuotaCheck,
): Promise<StartedMachineConnection> {
  const nowIso = now.toISOString();
  const connection: Connection = {
    ...newConnectionRow(
      {
        clientId,
        connectionId: request.connectionId,
        provider: provider.name,
        protocol: 'oauth2',
        status: 'refreshing',
        scopes: request.scopes ?? provider.defaultScopes,
        endUserId: request.endUserId,
        metadata: request.metadata,
      },
      now,
    ),
    grant: 'client_credentials',
    // Due at once: should the orchestration never start, the watchdog finds the row overdue and starts it.
    refreshDueAt: nowIso,
  };
  await runtime.connections.create(connection, known);
  const input = maintainPhaseInput(connection, { credentialsVersion: 0, issuedAt: nowIso, expiresAt: nowIso, cycle: 0, retryAt: nowIso });
  await launchConnection(runtime, connection, input, { grant: 'client_credentials', scopes: connection.scopes });

  const firstToken = (row: StoredConnection | undefined) =>
    !row || row.connection.credentialsVersion > 0 || isSettled(row.connection.status) || row.connection.error !== undefined;
  const { stored } = await waitForConnection(runtime, connection, firstToken, {
    timeoutMs: MACHINE_START_TIMINGS.firstTokenWaitMs,
    maxPollMs: MACHINE_START_TIMINGS.pollIntervalMs,
  });
  const current = stored?.connection ?? connection;
  return {
    connectionId: current.connectionId,
    provider: current.provider,
    grant: 'client_credentials',
    status: current.status,
    scopes: current.scopes,
    expiresAt: current.expiresAt,
    ...(current.error ? { error: { code: current.error.code, message: current.error.message } } : {}),
  };
}
