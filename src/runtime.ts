/**
 * The composition root: the one place that builds the services' Runtime from this process's
 * settings. Each port is built once per process (tables opened on first use); each function
 * invocation adds its own durable client. Nothing else in the app reads settings or holds a cache.
 */
import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { authenticateClient, type BrokerConfig, getConfig, isOperatorKey } from './config';
import { BrokerError } from './domain/errors';
import { durableClientOf } from './durable/client';
import type { NotifyWebhookInput } from './durable/contract';
import { sendHttpRequest } from './oauth/http';
import { forwardRequest } from './proxy/forward';
import { createBrokerSecrets } from './secrets';
import type { Access, Clock, Runtime } from './services/runtime';
import { AuditTrail } from './services/audit-trail';
import { StorageHealth } from './services/health';
import { ClientLimits } from './services/limits';
import { TokenCache } from './services/token-cache';
import { DpopNonceBook } from './oauth/oauth2/dpop';
import { AuditRepository } from './storage/audit-repo';
import { AuthorizationsRepository } from './storage/authorizations-repo';
import { ConnectLinksRepository } from './storage/connect-links-repo';
import { ConnectionWrites } from './storage/connection-writes';
import { ConnectionsRepository } from './storage/connections-repo';
import { McpRegistrationsRepository } from './storage/mcp-registrations-repo';
import { FailedWebhooksRepository } from './storage/failed-webhooks-repo';
import { createSealer } from './storage/sealer';
import { openTable, storageRoundTrip, TableNames } from './storage/tables';
import { noTelemetry, type Telemetry } from './telemetry/port';
import { tracedForward, tracedMethods, tracedSend } from './telemetry/traced-ports';

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Wiring {
  /** Key checks need no storage: a request with a wrong key is refused even while storage is down. */
  access: Access;
  /** This process's telemetry: request spans are opened around the runtime's own child spans. */
  telemetry: Telemetry;
  /** The runtime for one invocation: the process's ports plus the invocation's durable client. */
  runtimeFor(invocation: InvocationContext | undefined): Promise<Runtime>;
}

type Stores = Pick<Runtime, 'connections' | 'connectionWrites' | 'authorizations' | 'connectLinks' | 'mcpRegistrations' | 'failedWebhooks'>;

/** OpenTelemetry is loaded only when configured: it would add most of a second to every cold start. */
function telemetryFor(config: BrokerConfig): Telemetry {
  if (!config.telemetry) return noTelemetry;
  const { createOtelTelemetry } = require('./telemetry/otel') as typeof import('./telemetry/otel');
  return createOtelTelemetry(config.telemetry);
}

export function createWiring(config: BrokerConfig, env: NodeJS.ProcessEnv): Wiring {
  const telemetry = telemetryFor(config);
  const secrets = tracedMethods(telemetry, createBrokerSecrets({ config, env }), config.keyVaultUrl ? 'keyvault' : 'secrets', {
    'broker.secret_source': config.keyVaultUrl ? 'key-vault' : 'settings',
  });
  const sealer = createSealer(secrets);
  const storage = (component: string) => ({ 'db.system': 'azure.tables', 'broker.table': component });
  // Opened on first use; a failure is forgotten so the next event tries again.
  let auditStore: Promise<AuditRepository> | undefined;
  const openAuditStore = (): Promise<AuditRepository> =>
    (auditStore ??= openTable(TableNames.ConnectionEvents, env).then(
      (table) => new AuditRepository(table),
      (error: unknown) => {
        auditStore = undefined;
        throw error;
      },
    ));
  const ports: Omit<Runtime, keyof Stores | 'durable'> = {
    settings: {
      baseUrl: config.baseUrl,
      authorizationTimeoutSeconds: config.authorizationTimeoutSeconds,
      refreshMarginMs: config.refreshMarginSeconds * 1000,
      refreshFailureSpanSeconds: config.refreshFailureSpanSeconds,
      allowedReturnUrls: config.allowedReturnUrls,
      bindingRequiredClients: config.bindingRequiredClients,
      webhookRetry: config.webhookRetry,
    },
    clock: systemClock,
    providers: {
      get(name) {
        const provider = config.providers.resolve(name);
        if (!provider) throw new BrokerError('UNKNOWN_PROVIDER', `unknown provider "${name}"`);
        return provider;
      },
      configured: () => config.providers.listConfigured(),
      isConfigured: (name) => config.providers.isConfigured(name),
    },
    secrets: {
      clientSecret: (provider) => secrets.getClientSecret(provider),
      privateKey: (provider) => secrets.getPrivateKey(provider),
    },
    tokens: new TokenCache(systemClock),
    dpopNonces: new DpopNonceBook(),
    limits: new ClientLimits(systemClock, config.limits),
    health: new StorageHealth(systemClock, storageRoundTrip(env)),
    http: { send: tracedSend(telemetry, sendHttpRequest), forward: tracedForward(telemetry, forwardRequest) },
    webhooks: config.webhooks,
    telemetry,
    audit: new AuditTrail(openAuditStore, systemClock, {
      retentionDays: config.auditRetentionDays,
      processId: randomUUID(),
      // The trail is a record, not a precondition: a lost event must not fail the refresh that caused it.
      onError: (error) => console.warn(`audit trail write failed: ${String(error)}`),
    }),
  };

  let stores: Promise<Stores> | undefined;
  const openStores = (): Promise<Stores> =>
    (stores ??= Promise.all([
      openTable(TableNames.Connections, env),
      openTable(TableNames.Authorizations, env),
      openTable(TableNames.FailedWebhooks, env),
    ]).then(
      ([connections, authorizations, failedWebhooks]) => {
        // Only the repository publishes into it, so a waiter in this process hears every write it makes.
        const connectionWrites = new ConnectionWrites();
        return {
          connections: tracedMethods(telemetry, new ConnectionsRepository(connections, sealer, connectionWrites), 'storage', storage(TableNames.Connections)),
          connectionWrites,
          authorizations: tracedMethods(telemetry, new AuthorizationsRepository(authorizations, sealer), 'storage', storage(TableNames.Authorizations)),
          failedWebhooks: tracedMethods(telemetry, new FailedWebhooksRepository<NotifyWebhookInput>(failedWebhooks), 'storage', storage(TableNames.FailedWebhooks)),
          connectLinks: new ConnectLinksRepository(authorizations),
          mcpRegistrations: new McpRegistrationsRepository(authorizations, sealer),
        };
      },
      (error: unknown) => {
        stores = undefined; // storage may come up later: the next invocation tries again
        throw error;
      },
    ));

  // Everything but the invocation's durable client, once the stores are open: each invocation then
  // costs one copy of it (no second spread, no await of an already settled promise).
  let shared: Omit<Runtime, 'durable'> | undefined;
  return {
    telemetry,
    access: {
      clientFor: (key) => authenticateClient(key, config),
      isOperator: (key) => isOperatorKey(key, config),
    },
    async runtimeFor(invocation) {
      shared ??= { ...ports, ...(await openStores()) };
      return { ...shared, durable: durableClientOf(invocation) };
    },
  };
}

let wiring: Wiring | undefined;

/** This process's wiring, built from `process.env` on first use. */
export function getWiring(): Wiring {
  wiring ??= createWiring(getConfig(), process.env);
  return wiring;
}
