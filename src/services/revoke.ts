/**
 * Revocation: RFC 7009 at the provider where it has an endpoint (the refresh token, or without one
 * the access token, with the token endpoint's client authentication), then the credentials are
 * erased and the status is `revoked`. A provider that cannot be reached does not keep the
 * credentials alive: the local erase always happens and the provider's failure is reported in `error`.
 */
import type { Connection } from '../domain/connection';
import { BrokerError, isBrokerError } from '../domain/errors';
import type { SendOptions } from '../oauth/http';
import { revokeToken } from '../oauth/oauth2/client';
import { proofMaker, rememberingNonces } from '../oauth/oauth2/dpop';
import type { RevocationCallOptions } from '../oauth/oauth2/token-request';
import type { Credentials, OAuth2Credentials } from '../storage/credentials';
import { discoverServer } from '../oauth/oauth2/discovery';
import type { OAuth2ProviderDefinition, ProviderDefinition } from '../providers/types';
import { oauth2Client } from './provider-clients';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

export interface RevokeInput {
  connectionId: string;
  clientId: string;
}

const REVOCATION_ATTEMPTS = 3;
const REVOCATION_BACKOFF_MS = 250;

/** `reason`: why the broker itself revoked (e.g. a refused session binding), recorded as the row's `error`. */
export async function revokeConnection(runtime: Runtime, input: RevokeInput, reason?: { code: string; message: string }): Promise<{ status: 'revoked' }> {
  // From here on this process must not hand out the token, not even from its cache.
  runtime.tokens.forget(input.clientId, input.connectionId);
  const stored = await runtime.connections.get(input.clientId, input.connectionId);
  if (!stored || stored.connection.status === 'revoked') return { status: 'revoked' };

  const credentials = await runtime.connections.openCredentials(stored).catch(() => undefined);
  const provider = runtime.providers.get(stored.connection.provider);
  const { failure: providerFailure, revoked: revokedAtProvider } = await revokeAtProvider(runtime, provider, credentials);

  const at = runtime.clock.now().toISOString();
  const saved = await saveWithRetry(runtime, stored, (connection: Connection) =>
    connection.status === 'revoked'
      ? undefined
      : {
          next: {
            ...connection,
            status: 'revoked',
            updatedAt: at,
            expiresAt: null,
            authorizationId: undefined,
            authorizationExpiresAt: undefined,
            error: providerFailure
              ? { code: providerFailure.code, message: `provider revocation failed: ${providerFailure.message}`, at }
              : reason
                ? { ...reason, at }
                : undefined,
          },
          change: { credentials: null, issuedAt: null },
        },
  );
  if (saved) {
    await runtime.audit.record({
      connectionId: input.connectionId,
      clientId: input.clientId,
      type: 'revoked',
      at,
      details: { revokedAtProvider, errorCode: providerFailure?.code },
    });
  }
  runtime.tokens.forget(input.clientId, input.connectionId);
  // A pending attempt of a revoked connection can never complete: its secrets go now.
  if (stored.connection.authorizationId) await runtime.authorizations.delete(stored.connection.authorizationId);
  return { status: 'revoked' };
}

/**
 * RFC 7009 at the provider, when it has an endpoint and the credentials are OAuth 2.0: the refresh
 * token (or, without one, the access token), retried while the failure is transient. Never throws:
 * the caller erases or replaces the credentials whatever the provider said.
 */
export async function revokeAtProvider(
  runtime: Runtime,
  provider: ProviderDefinition,
  credentials: Credentials | undefined,
): Promise<{ revoked: boolean; failure?: BrokerError }> {
  if (credentials?.protocol !== 'oauth2' || provider.protocol !== 'oauth2') return { revoked: false };
  const send = { send: runtime.http.send };
  const revocationUrl = provider.revocationUrl ?? (await discoveredRevocationUrl(provider, send));
  if (!revocationUrl) return { revoked: false };
  const token = credentials.refreshToken ?? credentials.accessToken;
  const tokenTypeHint = credentials.refreshToken ? 'refresh_token' : 'access_token';
  let failure: BrokerError | undefined;
  for (let attempt = 1; attempt <= REVOCATION_ATTEMPTS; attempt++) {
    try {
      await revokeToken({ ...(await oauth2Client(runtime, provider)), revocationUrl, token, tokenTypeHint }, revocationOptions(runtime, provider.name, credentials, send));
      return { revoked: true };
    } catch (error) {
      failure = isBrokerError(error) ? error : new BrokerError('PROVIDER_UNAVAILABLE', 'revocation failed');
      if (!failure.transient) break;
      await runtime.clock.sleep(REVOCATION_BACKOFF_MS * attempt);
    }
  }
  return { revoked: false, failure };
}

/** A DPoP connection's revocation carries a proof (and the provider's nonce), like its token requests. */
function revocationOptions(runtime: Runtime, provider: string, credentials: OAuth2Credentials, send: SendOptions): RevocationCallOptions {
  if (!credentials.dpopKey) return send;
  const nonces = runtime.dpopNonces.for(provider);
  return { ...rememberingNonces(send, nonces), dpopProof: proofMaker(credentials.dpopKey, nonces, () => runtime.clock.now()) };
}

/**
 * The issuer's `revocation_endpoint`, for a provider defined by its issuer. Metadata that cannot be
 * had now means "no endpoint": the local erase must not wait on discovery.
 */
async function discoveredRevocationUrl(provider: OAuth2ProviderDefinition, send: SendOptions): Promise<string | undefined> {
  if (provider.issuer === undefined) return undefined;
  return (await discoverServer({ name: provider.name, issuer: provider.issuer }, send).catch(() => undefined))?.revocationUrl;
}
