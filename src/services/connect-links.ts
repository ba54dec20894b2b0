/**
 * Connect links (POST /connect-links): a single-use, short-lived URL that opens the connect page for
 * one end user and one provider (or a choice). The URL carries only a random token: no end-user id,
 * no provider, nothing personal. It grants nothing by itself either: using it only starts a
 * connection for the end user the client named, whose consent the provider still asks. This is what
 * an MCP server sends as a URL-mode elicitation, so third-party tokens never pass through the MCP
 * client.
 */
import { hashState, randomToken } from '../crypto/tokens';
import { BrokerError } from '../domain/errors';
import { isReturnUrlAllowed } from '../config/return-urls';
import { assertBindingRules } from './complete-connection';
import type { Runtime } from './runtime';
import { startConnection, type StartedConnection } from './start-connection';

export const CONNECT_LINK_DEFAULT_TTL_S = 600;
export const CONNECT_LINK_MAX_TTL_S = 3600;

export interface CreateConnectLinkRequest {
  endUserId: string;
  providers: string[];
  scopes?: string[];
  returnTo?: string;
  bindingChallenge?: string;
  expiresInSeconds?: number;
}

export interface CreatedConnectLink {
  url: string;
  expiresAt: string;
}

/** What the anonymous connect page may show: provider names, never the end user. */
export interface ConnectLinkChoice {
  providers: Array<{ name: string; displayName: string }>;
  expiresAt: string;
}

export async function createConnectLink(runtime: Runtime, clientId: string, request: CreateConnectLinkRequest): Promise<CreatedConnectLink> {
  // Everything a start would check, checked now: a link that could only fail is never handed out.
  assertBindingRules(runtime, clientId, request);
  if (request.returnTo !== undefined && !isReturnUrlAllowed(request.returnTo, runtime.settings.allowedReturnUrls)) {
    throw new BrokerError('RETURN_URL_NOT_ALLOWED', '"returnTo" is not an allowed return URL', { details: { field: 'returnTo' } });
  }
  for (const name of request.providers) {
    if (!runtime.providers.isConfigured(runtime.providers.get(name).name)) throw new BrokerError('UNKNOWN_PROVIDER', `provider "${name}" is not configured`);
  }
  const token = randomToken(32);
  const now = runtime.clock.now();
  const expiresAt = new Date(now.getTime() + (request.expiresInSeconds ?? CONNECT_LINK_DEFAULT_TTL_S) * 1000).toISOString();
  await runtime.connectLinks.create({
    linkId: hashState(token),
    clientId,
    endUserId: request.endUserId,
    providers: request.providers,
    ...(request.scopes ? { scopes: request.scopes } : {}),
    ...(request.returnTo ? { returnTo: request.returnTo } : {}),
    ...(request.bindingChallenge ? { bindingChallenge: request.bindingChallenge } : {}),
    createdAt: now.toISOString(),
    expiresAt,
  });
  return { url: `${runtime.settings.baseUrl}/api/link/${token}`, expiresAt };
}

/** GET /link/{token}: the choice the page offers. Reading changes nothing (link previews may fetch it). */
export async function readConnectLink(runtime: Runtime, token: string): Promise<ConnectLinkChoice> {
  const link = await usableLink(runtime, token);
  return {
    providers: link.providers.map((name) => {
      const provider = runtime.providers.get(name);
      return { name: provider.name, displayName: provider.displayName };
    }),
    expiresAt: link.expiresAt,
  };
}

/** POST /link/{token} {provider}: uses the link (once) and starts the connection. */
export async function useConnectLink(runtime: Runtime, token: string, providerName: string): Promise<StartedConnection> {
  const link = await usableLink(runtime, token);
  if (!link.providers.includes(providerName)) throw new BrokerError('INVALID_REQUEST', 'this link does not offer that provider', { details: { field: 'provider' } });
  const connectionId = randomToken(16);
  if (!(await runtime.connectLinks.markUsed(link, runtime.clock.now().toISOString(), connectionId))) throw used();
  return startConnection(runtime, link.clientId, {
    provider: providerName,
    connectionId,
    endUserId: link.endUserId,
    ...(link.scopes ? { scopes: link.scopes } : {}),
    ...(link.returnTo ? { returnTo: link.returnTo } : {}),
    ...(link.bindingChallenge ? { bindingChallenge: link.bindingChallenge } : {}),
  });
}

async function usableLink(runtime: Runtime, token: string) {
  const link = /^[A-Za-z0-9_-]{43}$/.test(token) ? await runtime.connectLinks.get(hashState(token)) : undefined;
  if (!link) throw new BrokerError('CONNECT_LINK_INVALID', 'this connect link is not valid');
  if (link.usedAt) throw used();
  if (Date.parse(link.expiresAt) <= runtime.clock.now().getTime()) throw new BrokerError('CONNECT_LINK_INVALID', 'this connect link has expired');
  return link;
}

function used(): BrokerError {
  return new BrokerError('CONNECT_LINK_INVALID', 'this connect link was already used');
}
