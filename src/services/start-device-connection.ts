/**
 * POST /connections with `grant: "device_code"` (RFC 8628): the device authorization request runs
 * here, so the answer carries the user code and verification URI at once. The device code is sealed
 * in the attempt's pending row (never in durable history); the orchestration's device phase polls
 * the token endpoint with it on durable timers.
 */
import { hashState } from '../crypto/tokens';
import type { Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { devicePhaseInput } from '../durable/contract';
import { startDeviceAuthorization } from '../oauth/oauth2/device';
import { providerServer } from '../oauth/oauth2/endpoints';
import type { OAuth2ProviderDefinition } from '../providers/types';
import { oauth2Client } from './provider-clients';
import { launchConnection, newConnectionRow } from './new-connection';
import type { Runtime } from './runtime';
import type { QuotaCheck } from './limits';

export interface StartedDeviceConnection {
  connectionId: string;
  provider: string;
  grant: 'device_code';
  /** `awaiting_callback` until the end user approves (or denies) the user code. */
  status: 'awaiting_callback';
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  authorizationExpiresAt: string;
  /** Seconds the broker waits between polls (the end user needs no more than this to see the result). */
  interval: number;
}

export interface DeviceConnectionRequest {
  connectionId: string;
  scopes?: string[];
  endUserId?: string;
  metadata?: Record<string, unknown>;
}

export async function startDeviceConnection(
  runtime: Runtime,
  clientId: string,
  provider: OAuth2ProviderDefinition,
  request: DeviceConnectionRequest,
  now: Date,
  known?: QuotaCheck,
): Promise<StartedDeviceConnection> {
  const scopes = request.scopes ?? provider.defaultScopes;
  const server = await providerServer(provider, { send: runtime.http.send }, ['deviceAuthorizationUrl']);
  if (!server.deviceAuthorizationUrl) {
    throw new BrokerError('PROVIDER_INVALID', `provider "${provider.name}": field "deviceAuthorizationUrl" is not configured and was not discovered`, {
      details: { provider: provider.name, field: 'deviceAuthorizationUrl' },
    });
  }
  const device = await startDeviceAuthorization(
    { ...(await oauth2Client(runtime, provider)), deviceAuthorizationUrl: server.deviceAuthorizationUrl, scopes, scopeSeparator: provider.scopeSeparator },
    { send: runtime.http.send },
  );
  // The provider's expiry, capped by the broker's own authorization timeout.
  const expiresAtMs = now.getTime() + Math.min(device.expiresIn, runtime.settings.authorizationTimeoutSeconds) * 1000;
  const authorizationExpiresAt = new Date(expiresAtMs).toISOString();
  const authorizationId = hashState(`device:${device.deviceCode}`);
  const nowIso = now.toISOString();
  const connection: Connection = {
    ...newConnectionRow(
      {
        clientId,
        connectionId: request.connectionId,
        provider: provider.name,
        protocol: 'oauth2',
        status: 'awaiting_callback',
        scopes,
        endUserId: request.endUserId,
        metadata: request.metadata,
      },
      now,
    ),
    grant: 'device_code',
    devicePollIntervalSeconds: device.intervalSeconds,
    authorizationId,
    authorizationExpiresAt,
  };
  await runtime.authorizations.create(
    {
      authorizationId,
      connectionId: connection.connectionId,
      clientId,
      instanceId: connection.instanceId,
      provider: provider.name,
      protocol: 'oauth2',
      createdAt: nowIso,
      expiresAt: authorizationExpiresAt,
    },
    { authorizationUrl: device.verificationUri, redirectUri: '', scopes, deviceCode: device.deviceCode },
  );
  try {
    await runtime.connections.create(connection, known);
  } catch (error) {
    await runtime.authorizations.delete(authorizationId).catch(() => undefined);
    throw error;
  }
  const input = devicePhaseInput(connection, { authorizationId, deadline: authorizationExpiresAt, intervalSeconds: device.intervalSeconds });
  await launchConnection(runtime, connection, input, { grant: 'device_code', scopes, authorizationExpiresAt });
  return {
    connectionId: connection.connectionId,
    provider: provider.name,
    grant: 'device_code',
    status: 'awaiting_callback',
    userCode: device.userCode,
    verificationUri: device.verificationUri,
    ...(device.verificationUriComplete ? { verificationUriComplete: device.verificationUriComplete } : {}),
    authorizationExpiresAt,
    interval: device.intervalSeconds,
  };
}
