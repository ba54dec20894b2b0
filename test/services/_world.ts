/**
 * The services' world for in-process tests: real Azurite tables (fresh ones per test), a recording
 * server as the provider (token, revocation and API endpoints), a fake clock whose sleeps advance
 * time at once, and a fake durable client whose "orchestration" runs the real activity services when
 * an event reaches it. Nothing here sleeps for real.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { createKeyring } from '../../src/crypto/envelope';
import type { Connection } from '../../src/domain/connection';
import type { DurableClientLike, OrchestrationListItem, OrchestrationStatusLike } from '../../src/durable/client';
import { Events, Orchestrations } from '../../src/durable/names';
import { sendHttpRequest } from '../../src/oauth/http';
import { CATALOGUE } from '../../src/providers/catalogue';
import { buildProviderRegistry } from '../../src/providers/registry';
import { forwardRequest } from '../../src/proxy/forward';
import { BrokerError } from '../../src/domain/errors';
import { exchangeCredentials } from '../../src/services/exchange';
import { markOutcome } from '../../src/services/mark-outcome';
import { refreshCredentials } from '../../src/services/refresh';
import { revokeConnection } from '../../src/services/revoke';
import type { Clock, Runtime } from '../../src/services/runtime';
import { AuditTrail } from '../../src/services/audit-trail';
import { ClientLimits, DEFAULT_LIMITS } from '../../src/services/limits';
import { StorageHealth } from '../../src/services/health';
import { TokenCache } from '../../src/services/token-cache';
import { DpopNonceBook } from '../../src/oauth/oauth2/dpop';
import { AuditRepository } from '../../src/storage/audit-repo';
import { AuthorizationsRepository } from '../../src/storage/authorizations-repo';
import { ConnectLinksRepository } from '../../src/storage/connect-links-repo';
import { McpRegistrationsRepository } from '../../src/storage/mcp-registrations-repo';
import { ConnectionWrites } from '../../src/storage/connection-writes';
import { ConnectionsRepository, type StoredConnection } from '../../src/storage/connections-repo';
import type { Credentials } from '../../src/storage/credentials';
import { createSealer } from '../../src/storage/sealer';
import { FailedWebhooksRepository } from '../../src/storage/failed-webhooks-repo';
import { DEFAULT_WEBHOOK_RETRY } from '../../src/domain/webhook-retry';
import { noTelemetry } from '../../src/telemetry/port';
import type { AuthorizePhaseInput, CallbackEvent, MaintainPhaseInput, NotifyWebhookInput } from '../../src/durable/contract';
import { connectionInstanceId } from '../../src/domain/connection';
import { AzuriteInstance, startAzurite } from '../support/azurite';
import { RecordingServer, startRecordingServer } from '../support/recording-server';

export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** What the durable-functions SDK throws for an unknown instance (durableClient/DurableClient.js). */
function notFound(instanceId: string): Error {
  return new Error(
    'DurableClient error: Durable Functions extension replied with HTTP 404 response. ' +
      `This usually means we could not find any data associated with the instanceId provided: ${instanceId}.`,
  );
}
export const CLIENT = 'app1';

/** Time stands still until a service sleeps or a test advances it. */
export class FakeClock implements Clock {
  constructor(public ms = T0) {}
  now(): Date {
    return new Date(this.ms);
  }
  async sleep(ms: number): Promise<void> {
    this.ms += ms;
    await new Promise((resolve) => setImmediate(resolve));
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

type Reaction = (instanceId: string, payload: unknown) => Promise<void>;

/**
 * A durable client with one orchestration per instance id. `startNew` makes it running; an event
 * raised to a running instance is handed to `onEvent[name]` (awaited, so a test sees its effect when
 * the raise returns); `dropNext` loses events as a late or dropped message would.
 */
export class FakeDurable implements DurableClientLike {
  readonly running = new Set<string>();
  readonly known = new Set<string>();
  readonly raised: Array<{ instanceId: string; event: string; payload: unknown }> = [];
  readonly started: Array<{ name: string; instanceId: string; input: unknown }> = [];
  readonly terminated: string[] = [];
  onEvent: Partial<Record<string, Reaction>> = {};
  onStart?: (name: string, instanceId: string, input: unknown) => Promise<void>;
  /** Events raised to a running instance that never reach it. */
  dropNext = 0;
  /** raiseEvent calls that fail as they do while an instance is not created yet (404). */
  failNextRaises = 0;
  failNextStarts = 0;
  /** getStatus calls that fail as when the task hub is unreachable (not a 404). */
  failNextStatuses = 0;
  /** Custom status per instance, as the orchestration would set it. */
  readonly customStatus = new Map<string, unknown>();
  readonly inputs = new Map<string, unknown>();
  readonly terminatedIds = new Set<string>();

  async startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string> {
    if (this.failNextStarts > 0) {
      this.failNextStarts -= 1;
      throw new Error('an instance with this id is already running');
    }
    this.started.push({ name, ...options });
    this.known.add(options.instanceId);
    this.inputs.set(options.instanceId, options.input);
    this.terminatedIds.delete(options.instanceId);
    if (name === Orchestrations.Connection) this.running.add(options.instanceId);
    await this.onStart?.(name, options.instanceId, options.input);
    return options.instanceId;
  }

  async raiseEvent(instanceId: string, event: string, payload: unknown): Promise<void> {
    if (this.failNextRaises > 0) {
      this.failNextRaises -= 1;
      throw notFound(instanceId);
    }
    this.raised.push({ instanceId, event, payload });
    if (!this.running.has(instanceId)) return; // "has no effect" on a stopped instance
    if (this.dropNext > 0) {
      this.dropNext -= 1;
      return;
    }
    // As the connection orchestration does on taking a new attempt.
    if (event === Events.Reauthorize) this.customStatus.set(instanceId, { status: 'awaiting_callback', ...(payload as object) });
    await this.onEvent[event]?.(instanceId, payload);
  }

  async getStatus(instanceId: string): Promise<OrchestrationStatusLike & { input?: unknown }> {
    if (!this.known.has(instanceId)) throw notFound(instanceId);
    if (this.failNextStatuses > 0) {
      this.failNextStatuses -= 1;
      throw new Error('DurableClient error: the task hub could not be reached (HTTP 500)');
    }
    return {
      runtimeStatus: this.terminatedIds.has(instanceId) ? 'Terminated' : this.running.has(instanceId) ? 'Running' : 'Completed',
      customStatus: this.customStatus.get(instanceId),
      input: this.inputs.get(instanceId),
    };
  }

  async getStatusBy(filter: { runtimeStatus: string[] }): Promise<OrchestrationListItem[]> {
    const items: OrchestrationListItem[] = [];
    for (const instanceId of this.known) {
      const status = await this.getStatus(instanceId);
      if (filter.runtimeStatus.includes(status.runtimeStatus)) items.push({ instanceId, ...status });
    }
    return items;
  }

  async terminate(instanceId: string): Promise<void> {
    this.terminated.push(instanceId);
    this.terminatedIds.add(instanceId);
    this.running.delete(instanceId);
  }

  async purgeInstanceHistory(): Promise<{ instancesDeleted: number }> {
    return { instancesDeleted: 0 };
  }

  /** The orchestration finished (or was never there): events have no effect, getStatus says Completed. */
  stop(instanceId: string): void {
    this.running.delete(instanceId);
  }

  raisedOf(event: string) {
    return this.raised.filter((r) => r.event === event);
  }
}

export interface World {
  runtime: Runtime;
  clock: FakeClock;
  durable: FakeDurable;
  provider: RecordingServer;
  audit: AuditTrail;
  auditStore: AuditRepository;
  /** Audit writes that failed (the trail reports them instead of failing the operation). */
  auditErrors: unknown[];
}

export interface Fixture {
  /** `connectionWrites`: wire the in-process news of row writes, as src/runtime.ts does. */
  world(options?: { webhooks?: Runtime['webhooks']; allowedReturnUrls?: string[]; auditRetentionDays?: number; connectionWrites?: boolean }): Promise<World>;
}

/** Azurite and the recording provider for one test file; every `world()` gets fresh tables. */
export function servicesFixture(): Fixture {
  let azurite: AzuriteInstance | undefined;
  let provider: RecordingServer | undefined;
  let seq = 0;
  const key = { keyId: 'k1', key: randomBytes(32) };
  const sealer = createSealer({ getEncryptionKeys: async () => createKeyring(key) });

  beforeAll(async () => {
    [azurite, provider] = await Promise.all([startAzurite(), startRecordingServer()]);
  });
  afterAll(async () => {
    await Promise.all([azurite?.stop(), provider?.close()]);
  });
  afterEach(() => {
    provider?.takeRequests();
  });

  return {
    async world(options = {}) {
      if (!azurite || !provider) throw new Error('fixture not started');
      seq += 1;
      const table = async (name: string) => {
        const client = TableClient.fromConnectionString(azurite!.connectionString, `${name}${seq}`, { allowInsecureConnection: true });
        await client.createTable();
        return client;
      };
      const clock = new FakeClock();
      const durable = new FakeDurable();
      const auditErrors: unknown[] = [];
      const connectionWrites = options.connectionWrites ? new ConnectionWrites() : undefined;
      const auditStore = new AuditRepository(await table('events'));
      const audit = new AuditTrail(async () => auditStore, clock, {
        retentionDays: options.auditRetentionDays ?? 90,
        processId: 'p1',
        onError: (error) => auditErrors.push(error),
        // Tests flush counts themselves; the timer is only a backstop here.
        flushAfterMs: 3_600_000,
      });
      const origin = provider.origin;
      const registry = buildProviderRegistry(CATALOGUE, [{ source: 'services test', json: providerDefinitions(origin) }]);
      const connectionsTable = await table('conn');
      const runtime: Runtime = {
        settings: {
          baseUrl: 'https://broker.example',
          authorizationTimeoutSeconds: 600,
          refreshMarginMs: 60_000,
          allowedReturnUrls: (options.allowedReturnUrls ?? ['https://app.example/done']).map((u) => new URL(u)),
          webhookRetry: DEFAULT_WEBHOOK_RETRY,
        },
        clock,
        providers: {
          get(name) {
            const definition = registry.resolve(name);
            if (!definition) throw new BrokerError('UNKNOWN_PROVIDER', `unknown provider "${name}"`);
            return definition;
          },
          configured: () => registry.listConfigured(),
          isConfigured: (name) => registry.isConfigured(name),
        },
        secrets: {
          clientSecret: async (definition) => definition.clientSecret,
          privateKey: async (definition) => definition.privateKey,
        },
        connections: new ConnectionsRepository(connectionsTable, sealer, connectionWrites),
        connectionWrites,
        authorizations: new AuthorizationsRepository(await table('auth'), sealer),
        connectLinks: new ConnectLinksRepository(await table('link')),
        mcpRegistrations: new McpRegistrationsRepository(await table('mcp'), sealer),
        durable,
        tokens: new TokenCache(clock),
        dpopNonces: new DpopNonceBook(),
        limits: new ClientLimits(clock, DEFAULT_LIMITS),
        health: new StorageHealth(clock, async () => void (await connectionsTable.createTable())),
        http: { send: sendHttpRequest, forward: forwardRequest },
        webhooks: options.webhooks ?? new Map(),
        failedWebhooks: new FailedWebhooksRepository<NotifyWebhookInput>(await table('failedhooks')),
        telemetry: noTelemetry,
        audit,
      };
      return { runtime, clock, durable, provider, audit, auditStore, auditErrors };
    },
  };
}

function providerDefinitions(origin: string) {
  const oauth2 = {
    protocol: 'oauth2',
    authorizationUrl: `${origin}/authorize`,
    tokenUrl: `${origin}/token`,
    revocationUrl: `${origin}/revoke`,
    apiBaseUrl: `${origin}/api`,
    defaultScopes: ['read'],
    clientAuthMethod: 'client_secret_post',
    clientId: 'broker-client',
    clientSecret: 'broker-secret',
  };
  return {
    acme: oauth2,
    // Marked as issuing long-lived tokens: never refreshed, whatever the token response says.
    longlived: { ...oauth2, refreshable: false, verifyUrl: `${origin}/api/me` },
    // Names who connected from its user endpoint (the canned answer serves both endpoints).
    withuser: { ...oauth2, accountInfo: { url: `${origin}/api/user`, subjectField: 'user.id', nameField: 'user.name' } },
    // Deprecated: its connections can be moved onto acme (POST …/reauthorize {provider}).
    acmeold: { ...oauth2, deprecatedAfter: '2026-12-31', successor: 'acme' },
    // Machine to machine only: connections fetch their tokens with the client credentials grant.
    machine: { ...oauth2, grants: ['client_credentials'] },
    legacy: {
      protocol: 'oauth1',
      requestTokenUrl: `${origin}/oauth1/request_token`,
      authorizationUrl: `${origin}/oauth1/authorize`,
      accessTokenUrl: `${origin}/oauth1/access_token`,
      apiBaseUrl: `${origin}/api`,
      signatureMethod: 'HMAC-SHA1',
      clientId: 'consumer',
      clientSecret: 'consumer-secret',
      verifyUrl: `${origin}/api/account`,
    },
  };
}

/** A token endpoint answer. */
export function tokenAnswer(body: Record<string, unknown>, status = 200) {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

/** Requests the provider's token endpoint received since the last look. */
export function tokenRequests(world: World) {
  return world.provider.takeRequests().filter((r) => r.target === '/token');
}

/** Lets the fake orchestration run the real activities, as the connection orchestration would. */
export function orchestrateWithActivities(world: World): void {
  const { runtime, durable } = world;
  const ref = async (instanceId: string) => {
    const stored = await rowOfInstance(runtime, instanceId);
    if (!stored) throw new Error(`no row for ${instanceId}`);
    return stored.connection;
  };
  durable.onEvent[Events.Callback] = async (instanceId, payload) => {
    const event = payload as CallbackEvent;
    const c = await ref(instanceId);
    if (event.outcome === 'denied') {
      await markOutcome(runtime, { ...c, authorizationId: event.authorizationId, status: 'denied' });
    } else {
      await exchangeCredentials(runtime, { connectionId: c.connectionId, clientId: c.clientId, authorizationId: event.authorizationId });
    }
  };
  durable.onEvent[Events.Refresh] = async (instanceId) => {
    const c = await ref(instanceId);
    await refreshCredentials(runtime, { connectionId: c.connectionId, clientId: c.clientId, expectedVersion: c.credentialsVersion });
  };
  durable.onEvent[Events.Revoke] = async (instanceId) => {
    const c = await ref(instanceId);
    await revokeConnection(runtime, { connectionId: c.connectionId, clientId: c.clientId });
    durable.stop(instanceId);
  };
  durable.onStart = async (name, instanceId, input) => {
    if (name !== Orchestrations.Connection) return;
    const phase = input as AuthorizePhaseInput | MaintainPhaseInput;
    // A restarted maintain phase refreshes at once (its retryAt is now).
    if (phase.phase === 'maintain') await durable.onEvent[Events.Refresh]?.(instanceId, {});
  };
}

/** The row an instance id belongs to: `{clientId}.{connectionId}`, or a legacy id (= connection id). */
export async function rowOfInstance(runtime: Runtime, instanceId: string): Promise<StoredConnection | undefined> {
  const dot = instanceId.lastIndexOf('.');
  if (dot >= 0) return runtime.connections.get(instanceId.slice(0, dot), instanceId.slice(dot + 1));
  return (await runtime.connections.findById(instanceId)).find((s) => s.connection.instanceId === instanceId);
}

export interface SeedOptions {
  provider?: string;
  connectionId?: string;
  /** Written as before namespacing: legacy partition, instance id = connection id. */
  legacy?: boolean;
  status?: Connection['status'];
  expiresInSeconds?: number | null;
  credentials?: Credentials;
}

/** A connected OAuth 2.0 connection written straight into the table, issued at the clock's now. */
export async function seedConnected(world: World, options: SeedOptions = {}): Promise<StoredConnection> {
  const { runtime, clock } = world;
  const provider = options.provider ?? 'acme';
  const nowIso = clock.now().toISOString();
  const expiresIn = options.expiresInSeconds === undefined ? 3600 : options.expiresInSeconds;
  const connectionId = options.connectionId ?? `conn-${randomBytes(6).toString('hex')}`;
  const connection: Connection = {
    connectionId,
    clientId: CLIENT,
    instanceId: options.legacy ? connectionId : connectionInstanceId(CLIENT, connectionId),
    provider,
    protocol: options.credentials?.protocol ?? 'oauth2',
    status: options.status ?? 'connected',
    scopes: ['read'],
    createdAt: nowIso,
    updatedAt: nowIso,
    expiresAt: expiresIn === null ? null : new Date(clock.ms + expiresIn * 1000).toISOString(),
    lastRefreshedAt: null,
    credentialsVersion: 1,
  };
  await runtime.connections.create(connection);
  const created = await runtime.connections.require(CLIENT, connection.connectionId);
  await runtime.connections.save(created, connection, {
    credentials: options.credentials ?? { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer', refreshToken: 'rt-1' },
    issuedAt: nowIso,
  });
  return runtime.connections.require(CLIENT, connection.connectionId);
}

/** The connection's orchestration is running (as after its exchange); `instanceId` as the row says. */
export function running(world: World, instanceId: string): void {
  world.durable.known.add(instanceId);
  world.durable.running.add(instanceId);
}

export async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof BrokerError)) throw new Error(`expected a BrokerError, got ${String(error)}`);
  return error;
}
