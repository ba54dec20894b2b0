/**
 * Starts one authorization attempt: OAuth 2.0 state + PKCE, or an OAuth 1.0a request token. The
 * secrets (state-bearing URL, verifier, request-token secret) go only into the sealed pending row;
 * the caller gets back references and the URL for the end user.
 */
import { randomToken, hashState } from '../crypto/tokens';
import type { Connection } from '../domain/connection';
import { BrokerError } from '../domain/errors';
import { obtainTemporaryCredentials } from '../oauth/oauth1/request-token';
import { buildAuthorizationUrl as buildOAuth1AuthorizationUrl } from '../oauth/oauth1/authorize-url';
import { buildAuthorizationUrl as buildOAuth2AuthorizationUrl } from '../oauth/oauth2/authorize-url';
import { createDpopKey, dpopTokenOptions } from '../oauth/oauth2/dpop';
import { expectsIdToken, ProviderServer, providerServer } from '../oauth/oauth2/endpoints';
import { pushAuthorizationRequest } from '../oauth/oauth2/par';
import { createPkcePair } from '../oauth/oauth2/pkce';
import type { OAuth2ProviderDefinition, ProviderDefinition } from '../providers/types';
import type { AuthorizationSecrets } from '../storage/credentials';
import { oauth1Client, oauth2Client } from './provider-clients';
import { callbackUrl, Runtime } from './runtime';

/** 256 bits: comfortably above the ≥128 bits the design asks for. */
export const STATE_BYTES = 32;

export interface AuthorizationStart {
  authorizationId: string;
  authorizationUrl: string;
  expiresAt: string;
}

/** The pending-row key for an OAuth 2.0 state. */
export function authorizationIdForState(state: string): string {
  return hashState(`oauth2:${state}`);
}

/** The pending-row key for an OAuth 1.0a request token (the callback brings it back as `oauth_token`). */
export function authorizationIdForRequestToken(requestToken: string): string {
  return hashState(`oauth1:${requestToken}`);
}

export async function beginAuthorization(
  runtime: Runtime,
  provider: ProviderDefinition,
  connection: Connection,
  scopes: string[],
  now: Date,
): Promise<AuthorizationStart> {
  const redirectUri = callbackUrl(runtime.settings, provider.name);
  const expiresAt = new Date(now.getTime() + runtime.settings.authorizationTimeoutSeconds * 1000).toISOString();
  let authorizationId: string;
  let secrets: AuthorizationSecrets;

  if (provider.protocol === 'oauth2') {
    const state = randomToken(STATE_BYTES);
    const pkce = provider.pkce ? createPkcePair() : undefined;
    // Sealed like the verifier: the exchange requires the ID Token to carry it back.
    const nonce = expectsIdToken(provider, scopes) ? randomToken(STATE_BYTES) : undefined;
    if (!provider.clientId) throw missingClientId(provider.name);
    const send = { send: runtime.http.send };
    const server = await providerServer(provider, send, provider.par ? ['parUrl'] : []);
    // Each authorization gets its own key; the code is bound to it (dpop_jkt, and the PAR proof).
    const dpopKey = provider.dpop ? await createDpopKey() : undefined;
    const dpop = await dpopTokenOptions(dpopKey, runtime.dpopNonces.for(provider.name), send);
    const request = {
      authorizationUrl: server.authorizationUrl,
      clientId: provider.clientId,
      redirectUri,
      scopes,
      scopeSeparator: provider.scopeSeparator,
      state,
      codeChallenge: pkce?.codeChallenge,
      nonce,
      extraParams: dpop.dpop ? { ...provider.authorizationParams, dpop_jkt: await dpop.dpop.calculateThumbprint() } : provider.authorizationParams,
      responseMode: provider.responseMode,
    };
    const authorizationUrl = usesPar(provider, server)
      ? (await pushAuthorizationRequest({ ...request, ...(await oauth2Client(runtime, provider)), parUrl: requireParUrl(provider, server) }, dpop)).authorizationUrl
      : buildOAuth2AuthorizationUrl(request);
    authorizationId = authorizationIdForState(state);
    secrets = { authorizationUrl, redirectUri, scopes, ...(pkce ? { codeVerifier: pkce.codeVerifier } : {}), ...(nonce ? { nonce } : {}), ...(dpopKey ? { dpopKey } : {}) };
  } else {
    const client = await oauth1Client(runtime, provider);
    const temporary = await obtainTemporaryCredentials({
      client,
      requestTokenUrl: provider.requestTokenUrl,
      callbackUrl: redirectUri,
    }, { send: runtime.http.send });
    const authorizationUrl = buildOAuth1AuthorizationUrl(provider.authorizationUrl, temporary.token, provider.authorizationParams ?? {});
    authorizationId = authorizationIdForRequestToken(temporary.token);
    secrets = { authorizationUrl, redirectUri, scopes, requestToken: temporary.token, requestTokenSecret: temporary.tokenSecret };
  }

  await runtime.authorizations.create(
    {
      authorizationId,
      connectionId: connection.connectionId,
      clientId: connection.clientId,
      instanceId: connection.instanceId,
      provider: provider.name,
      protocol: provider.protocol,
      createdAt: now.toISOString(),
      expiresAt,
      returnTo: connection.returnTo,
    },
    secrets,
  );
  return { authorizationId, authorizationUrl: secrets.authorizationUrl, expiresAt };
}

/** PAR when the definition asks for it or the discovered metadata requires it. */
function usesPar(provider: OAuth2ProviderDefinition, server: ProviderServer): boolean {
  return provider.par === true || server.discovered?.requiresPar === true;
}

function requireParUrl(provider: OAuth2ProviderDefinition, server: ProviderServer): string {
  if (server.parUrl) return server.parUrl;
  throw new BrokerError('PROVIDER_METADATA_INVALID', `provider "${provider.name}": discovered metadata "pushed_authorization_request_endpoint" is missing, and the definition does not set "parUrl"`, {
    details: { provider: provider.name, field: 'pushed_authorization_request_endpoint' },
  });
}

function missingClientId(provider: string): BrokerError {
  return new BrokerError('PROVIDER_INVALID', `provider "${provider}": field "clientId" is not configured`);
}
