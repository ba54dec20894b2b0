/**
 * Health probes for credentials that never expire (OAuth 1.0a, long-lived OAuth 2.0 tokens): no
 * refresh loop would notice their revocation at the provider, so a daily sweep calls each
 * provider's `verifyUrl` with them. A 401/403 makes the connection `reauth_required`
 * (`REVOKED_AT_PROVIDER`) and sends the `connection.reauth_required` webhook, before any client
 * call fails. Other answers (5xx, timeouts) say nothing and change nothing.
 */
import type { Connection } from '../domain/connection';
import { type NotifyWebhookInput, webhookInstanceId } from '../durable/contract';
import { Orchestrations } from '../durable/names';
import { proofMaker, rememberingNonces } from '../oauth/oauth2/dpop';
import { probeOAuth1Credentials, probeOAuth2Credentials, ProbeVerdict } from '../oauth/verify-credentials';
import type { ProviderDefinition } from '../providers/types';
import { oauth1Client } from './provider-clients';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

const PAGE_SIZE = 100;

export interface ProbeSweepResult {
  probed: number;
  /** Connection ids found revoked at their provider. */
  revoked: string[];
}

export async function probeCredentials(runtime: Runtime): Promise<ProbeSweepResult> {
  const result: ProbeSweepResult = { probed: 0, revoked: [] };
  let continuation: string | undefined;
  do {
    const page = await runtime.connections.listAll({ status: 'connected' }, PAGE_SIZE, continuation);
    for (const connection of page.items) {
      const provider = probedProvider(runtime, connection);
      if (!provider?.verifyUrl) continue;
      const verdict = await probeOne(runtime, connection, provider, provider.verifyUrl);
      if (!verdict) continue;
      result.probed += 1;
      if (verdict.kind === 'revoked' && (await markRevoked(runtime, connection, provider.verifyUrl, verdict.status))) {
        result.revoked.push(connection.connectionId);
      }
    }
    continuation = page.continuation;
  } while (continuation);
  return result;
}

/** Only credentials without an expiry: expiring ones are watched by their refresh loop. */
function probedProvider(runtime: Runtime, connection: Connection): ProviderDefinition | undefined {
  if (connection.expiresAt !== null) return undefined;
  try {
    return runtime.providers.get(connection.provider);
  } catch {
    return undefined;
  }
}

async function probeOne(runtime: Runtime, connection: Connection, provider: ProviderDefinition, verifyUrl: string): Promise<ProbeVerdict | undefined> {
  const stored = await runtime.connections.get(connection.clientId, connection.connectionId);
  const credentials = stored ? await runtime.connections.openCredentials(stored).catch(() => undefined) : undefined;
  const target = { verifyUrl, verifyMethod: provider.verifyMethod };
  const send = { send: runtime.http.send };
  if (credentials?.protocol === 'oauth2') {
    if (!credentials.dpopKey) return probeOAuth2Credentials(target, credentials, send);
    const nonces = runtime.dpopNonces.for(provider.name);
    return probeOAuth2Credentials(target, credentials, rememberingNonces(send, nonces), proofMaker(credentials.dpopKey, nonces, () => runtime.clock.now()));
  }
  if (credentials?.protocol === 'oauth1' && provider.protocol === 'oauth1') {
    return probeOAuth1Credentials(target, await oauth1Client(runtime, provider), credentials, send);
  }
  return undefined;
}

async function markRevoked(runtime: Runtime, connection: Connection, verifyUrl: string, status: number): Promise<boolean> {
  const at = runtime.clock.now().toISOString();
  const stored = await runtime.connections.get(connection.clientId, connection.connectionId);
  if (!stored) return false;
  const error = { code: 'REVOKED_AT_PROVIDER', message: `the provider refused the credentials at ${new URL(verifyUrl).origin} (HTTP ${status})`, at };
  const saved = await saveWithRetry(runtime, stored, (current) =>
    current.status !== 'connected' || current.credentialsVersion !== connection.credentialsVersion
      ? undefined
      : { next: { ...current, status: 'reauth_required', updatedAt: at, error }, change: { credentials: null } },
  );
  if (!saved) return false;
  runtime.tokens.forget(connection.clientId, connection.connectionId);
  if (runtime.webhooks.has(connection.clientId)) {
    const event: NotifyWebhookInput = {
      connectionId: connection.connectionId,
      clientId: connection.clientId,
      provider: connection.provider,
      protocol: connection.protocol,
      type: 'connection.reauth_required',
      // One event per connection and credentials version: a re-run of the sweep does not repeat it.
      eventId: `probe-${connection.connectionId}-v${connection.credentialsVersion}`,
      occurredAt: at,
      error: { code: error.code, message: error.message },
    };
    await runtime.durable.startNew(Orchestrations.WebhookDelivery, { instanceId: webhookInstanceId(event), input: event });
  }
  return true;
}
