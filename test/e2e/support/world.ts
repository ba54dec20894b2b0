/**
 * The end-to-end world: a real Azurite, a real oidc-provider (OAuth 2.0), a real oauthlib provider
 * (OAuth 1.0a) and the broker on the local host, wired with the contract's settings.
 */
import { randomBytes } from 'node:crypto';
import { AzuriteInstance, freePort, startAzurite } from '../../support/azurite';
import { approveAuthorization, OAuth1ProviderHandle, startOAuth1Provider } from '../../support/oauth1/start-oauth1-provider';
import { completeConsent } from '../../support/oidc/complete-consent';
import { OidcProviderOptions, OidcTestClient, startOidcProvider } from '../../support/oidc/start-oidc-provider';
import { prepareBrokerApp } from './broker-app';
import { BrokerHost, eventually, requester, startBrokerHost } from './broker-host';
import { startRoundRobin } from './round-robin';

export const CLIENT_KEY = 'app1-key-0123456789';
export const OTHER_CLIENT_KEY = 'app2-key-0123456789';
export const OPERATOR_KEY = 'operator-key-0123456789';
export const RETURN_URL = 'http://127.0.0.1:9/done';

export type OidcHandle = Awaited<ReturnType<typeof startOidcProvider>>;

export interface World {
  azurite: AzuriteInstance;
  oidc: OidcHandle;
  oauth1: OAuth1ProviderHandle;
  /** The broker as clients and providers see it (with several hosts: the round-robin front). */
  broker: BrokerHost;
  /** Each broker host (one unless `hosts` asked for more). */
  hosts: BrokerHost[];
  encryptionKey: string;
  stop(): Promise<void>;
}

/**
 * A confidential client at oidc-provider for a broker provider named `name` (id `broker-{name}`,
 * secret `secret-{name}`), its callback on the broker; `extra` adds or overrides client fields.
 */
export function brokerOidcClient(brokerUrl: string, name: string, extra: Partial<OidcTestClient> = {}): OidcTestClient {
  return {
    client_id: `broker-${name}`,
    client_secret: `secret-${name}`,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [`${brokerUrl}/api/callback/${name}`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...extra,
  };
}

export interface WorldOptions {
  accessTokenTtlSeconds?: number;
  authorizationTimeoutSeconds?: number;
  /**
   * Settings over the world's own; a function receives the broker's URL (known only once its port is)
   * and the world's provider definitions (to derive a BROKER_PROVIDERS of its own).
   */
  extraSettings?: Record<string, string> | ((brokerUrl: string, providers: Record<string, Record<string, unknown>>) => Record<string, string>);
  /** More clients at oidc-provider, registered for callbacks on the broker's URL. */
  extraOidcClients?: (brokerUrl: string) => OidcTestClient[];
  /** Provider switches for oidc-provider (e.g. `omitExpiresIn`). */
  oidcOptions?: Omit<OidcProviderOptions, 'clients' | 'accessTokenTtlSeconds'>;
  /** Keep Azurite's data in this folder (instead of memory) so `world.azurite.restart()` loses nothing. */
  azuriteLocation?: string;
  /** Several broker hosts on one task hub behind a round-robin front (default 1). */
  hosts?: number;
  /** host.json `extensions.durableTask` settings over the repository's (the app then runs from a linked copy). */
  durableTask?: Record<string, unknown>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const azurite = await startAzurite({ location: options.azuriteLocation });
  const brokerPort = await freePort();
  const brokerUrl = `http://127.0.0.1:${brokerPort}`;
  const oidc = await startOidcProvider({
    ...options.oidcOptions,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    clients: [
      ...(options.extraOidcClients?.(brokerUrl) ?? []),
      {
        client_id: 'broker',
        client_secret: 'broker-secret-basic',
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [`${brokerUrl}/api/callback/oidc`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: 'broker-post',
        client_secret: 'broker-secret-post',
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: [`${brokerUrl}/api/callback/oidcpost`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
  });
  const oauth1 = await startOAuth1Provider({ clients: [{ consumerKey: 'brokerConsumerKey00001', consumerSecret: 'broker-consumer-secret' }] });
  const providers = {
    oidc: {
      protocol: 'oauth2',
      displayName: 'Test OIDC (basic)',
      authorizationUrl: oidc.url('/auth'),
      tokenUrl: oidc.url('/token'),
      revocationUrl: oidc.url('/token/revocation'),
      apiBaseUrl: oidc.url('/api'),
      defaultScopes: ['openid', 'read'],
      scopeSeparator: ' ',
      pkce: true,
      clientAuthMethod: 'client_secret_basic',
      clientId: 'broker',
      clientSecret: 'broker-secret-basic',
    },
    oidcpost: {
      protocol: 'oauth2',
      displayName: 'Test OIDC (post)',
      authorizationUrl: oidc.url('/auth'),
      tokenUrl: oidc.url('/token'),
      revocationUrl: oidc.url('/token/revocation'),
      apiBaseUrl: oidc.url('/api'),
      defaultScopes: ['openid', 'read'],
      clientAuthMethod: 'client_secret_post',
      clientId: 'broker-post',
      clientSecret: 'broker-secret-post',
    },
    legacy: {
      protocol: 'oauth1',
      displayName: 'Test OAuth 1.0a',
      requestTokenUrl: oauth1.requestTokenUrl,
      authorizationUrl: oauth1.authorizationUrl,
      accessTokenUrl: oauth1.accessTokenUrl,
      apiBaseUrl: oauth1.url('/api'),
      signatureMethod: 'HMAC-SHA1',
      clientId: 'brokerConsumerKey00001',
      clientSecret: 'broker-consumer-secret',
    },
  };
  const encryptionKey = randomBytes(32).toString('base64');
  const settings = {
    BROKER_BASE_URL: brokerUrl,
    BROKER_PROVIDERS: JSON.stringify(providers),
    BROKER_ENCRYPTION_KEY: encryptionKey,
    BROKER_CLIENT_KEYS: `app1:${CLIENT_KEY},app2:${OTHER_CLIENT_KEY}`,
    BROKER_OPERATOR_KEY: OPERATOR_KEY,
    BROKER_ALLOWED_RETURN_URLS: RETURN_URL,
    BROKER_AUTHORIZATION_TIMEOUT_SECONDS: String(options.authorizationTimeoutSeconds ?? 600),
    ...(typeof options.extraSettings === 'function' ? options.extraSettings(brokerUrl, providers) : (options.extraSettings ?? {})),
  };
  const app = options.durableTask ? prepareBrokerApp(options.durableTask) : undefined;
  const count = options.hosts ?? 1;
  const hosts: BrokerHost[] = [];
  for (let i = 0; i < count; i++) {
    hosts.push(
      await startBrokerHost({
        port: count === 1 ? brokerPort : undefined,
        appDir: app?.dir,
        storage: azurite.connectionString,
        settings: { ...settings, DEVHOST_WORKER_ID: `broker-${i + 1}` },
      }),
    );
  }
  const front = count > 1 ? await startRoundRobin(hosts.map((h) => h.port), brokerPort) : undefined;
  const broker: BrokerHost = front
    ? {
        url: front.url,
        port: front.port,
        logs: () => hosts.map((h) => h.logs()).join('\n'),
        request: requester(front.url),
        kill: async (signal) => void (await Promise.all(hosts.map((h) => h.kill(signal)))),
        restart: async () => void (await Promise.all(hosts.map((h) => h.restart()))),
        stop: async () => void (await Promise.all(hosts.map((h) => h.stop()))),
      }
    : hosts[0];
  return {
    azurite,
    oidc,
    oauth1,
    broker,
    hosts,
    encryptionKey,
    async stop() {
      await broker.stop().catch(() => undefined);
      await front?.close();
      await Promise.all([oidc.stop(), oauth1.stop(), azurite.stop()].map((p) => p.catch(() => undefined)));
      app?.remove();
    },
  };
}

/** POST /connections as app1 (or the given key). */
export async function startConnection(world: World, body: Record<string, unknown>, key = CLIENT_KEY) {
  const answer = await world.broker.request('POST', '/api/connections', { key, body });
  if (answer.status !== 201) throw new Error(`start failed: ${answer.status} ${answer.text}`);
  return answer.json as { connectionId: string; authorizationUrl: string; authorizationExpiresAt: string; status: string };
}

/** Drives the provider's consent and returns the broker callback URL the browser would be sent to. */
export async function consent(world: World, authorizationUrl: string, approve = true): Promise<string> {
  if (authorizationUrl.startsWith(world.oauth1.baseUrl)) return approveAuthorization(authorizationUrl, { approve });
  return completeConsent(authorizationUrl, { account: 'alice', approve });
}

export async function connectionStatus(world: World, connectionId: string, key = CLIENT_KEY): Promise<string> {
  const answer = await world.broker.request('GET', `/api/connections/${connectionId}`, { key });
  return answer.json?.status;
}

export async function waitForStatus(world: World, connectionId: string, status: string, timeoutMs = 20_000): Promise<void> {
  await eventually(async () => ((await connectionStatus(world, connectionId)) === status ? true : undefined), timeoutMs);
}

/** Full happy path: start, consent, callback; returns the connection id once `connected`. */
export async function connect(world: World, provider: string, extra: Record<string, unknown> = {}): Promise<string> {
  const started = await startConnection(world, { provider, ...extra });
  const callback = await consent(world, started.authorizationUrl);
  const answer = await world.broker.request('GET', callback);
  if (answer.status !== 200 && answer.status !== 302) throw new Error(`callback failed: ${answer.status} ${answer.text}`);
  await waitForStatus(world, started.connectionId, 'connected');
  return started.connectionId;
}
