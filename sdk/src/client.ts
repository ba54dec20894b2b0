import { BrokerApiError, errorFromResponse } from './errors';
import {
  API_BASE_PATH,
  CLIENT_OPERATIONS,
  ClientOperationId,
  ClientOperationTypes,
  CompleteConnectionRequest,
  CompletedConnection,
  ConnectLink,
  Connection,
  CreateConnectLinkRequest,
  ConnectionPage,
  ListConnectionsQuery,
  ProviderList,
  ReauthorizeRequest,
  StartConnectionRequest,
  StartedConnection,
  StartedMachineConnection,
  StartConnectionAnswer,
  Token,
} from './generated/openapi';
import { RetryOptions, RetryPolicy, retryPolicy } from './retry';
import { TokenCache, TokenCacheOptions } from './token-cache';
import { defaultEnvironment, Environment, OutgoingRequest, send } from './transport';

export interface BrokerClientOptions extends Partial<Environment> {
  /** The broker's base URL (`BROKER_BASE_URL`, e.g. `http://localhost:7071`); the API is under `/api`. */
  baseUrl: string;
  /** A client API key (`BROKER_CLIENT_KEYS`). */
  apiKey: string;
  /** Retries on 429/503 (default: 3 attempts); `false` sends every request once. */
  retry?: RetryOptions | false;
  /** Options of {@link BrokerClient.tokens}. */
  tokenCache?: Omit<TokenCacheOptions, 'now'>;
}

export type ProxyMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ProxyInit {
  method?: ProxyMethod;
  headers?: Record<string, string>;
  /** Replayable bodies only, so a retry sends the same bytes. */
  body?: string | Uint8Array | URLSearchParams;
}

export type Provider = ProviderList['items'][number];

const PROXY_OPERATIONS: Record<ProxyMethod, ClientOperationId> = {
  GET: 'proxyGet',
  POST: 'proxyPost',
  PUT: 'proxyPut',
  PATCH: 'proxyPatch',
  DELETE: 'proxyDelete',
};

/** Proxied methods a retry cannot repeat with effect (RFC 9110 §9.2.2). */
const IDEMPOTENT_PROXY_METHODS: readonly ProxyMethod[] = ['GET', 'PUT', 'DELETE'];

/** Operations whose success is a JSON body (or none), as opposed to the proxy's pass-through answer. */
type JsonOperationId = { [K in ClientOperationId]: (typeof CLIENT_OPERATIONS)[K]['success'] extends number ? K : never }[ClientOperationId];

/** What one operation takes besides its path: the query and the JSON body its document entry names. */
type CallInput<Id extends JsonOperationId> = {
  connectionId?: string;
  query?: ClientOperationTypes[Id] extends { query: infer Q } ? Q : never;
  body?: ClientOperationTypes[Id] extends { body: infer B } ? B : never;
};

/**
 * The broker's client API, one method per operation of its OpenAPI document (types generated from
 * it). Every failure is a {@link BrokerApiError} carrying the broker's stable `code`.
 */
export class BrokerClient {
  /** Tokens cached until shortly before they expire; `tokens.get(id)` is what most code wants. */
  readonly tokens: TokenCache;
  private readonly apiUrl: string;
  private readonly apiKey: string;
  private readonly retry: RetryPolicy;
  private readonly env: Environment;

  constructor(options: BrokerClientOptions) {
    if (!options.apiKey) throw new TypeError('apiKey is required');
    this.apiUrl = `${new URL(options.baseUrl).toString().replace(/\/+$/, '')}${API_BASE_PATH}`;
    this.apiKey = options.apiKey;
    this.retry = retryPolicy(options.retry);
    const defaults = defaultEnvironment();
    this.env = {
      fetch: options.fetch ?? defaults.fetch,
      now: options.now ?? defaults.now,
      sleep: options.sleep ?? defaults.sleep,
      random: options.random ?? defaults.random,
    };
    this.tokens = new TokenCache((connectionId) => this.getToken(connectionId), { ...options.tokenCache, now: this.env.now });
  }

  /**
   * Starts a connection; send the end user to `authorizationUrl`. With `grant: "client_credentials"`
   * there is no end user: the answer says whether the first token is already stored (`connected`).
   */
  startConnection(request: StartConnectionRequest & { grant: 'client_credentials' }): Promise<StartedMachineConnection>;
  startConnection(request: StartConnectionRequest & { grant?: 'authorization_code' }): Promise<StartedConnection>;
  startConnection(request: StartConnectionRequest): Promise<StartConnectionAnswer> {
    return this.call('startConnection', { body: request });
  }

  /** One page of the client's connections. */
  listConnections(query: ListConnectionsQuery = {}): Promise<ConnectionPage> {
    return this.call('listConnections', { query });
  }

  /** Every connection matching `query`, page after page. */
  async *connections(query: Omit<ListConnectionsQuery, 'continuation'> = {}): AsyncGenerator<Connection> {
    let continuation: string | undefined;
    do {
      const page = await this.listConnections({ ...query, continuation });
      yield* page.items;
      continuation = page.continuation;
    } while (continuation);
  }

  getConnection(connectionId: string): Promise<Connection> {
    return this.call('getConnection', { connectionId });
  }

  /** Revokes at the provider where supported and erases the credentials (idempotent). */
  async revokeConnection(connectionId: string): Promise<void> {
    this.tokens.invalidate(connectionId);
    await this.call('revokeConnection', { connectionId });
    this.tokens.invalidate(connectionId);
  }

  /**
   * A valid token straight from the broker (uncached; see {@link BrokerClient.tokens}). With
   * `scopes`, a connection not granted all of them throws `SCOPES_MISSING` (its `missing` names them).
   */
  getToken(connectionId: string, options: { scopes?: string[] } = {}): Promise<Token> {
    return this.call('getToken', { connectionId, query: options.scopes ? { scopes: options.scopes.join(',') } : {} });
  }

  /** Forces a refresh and answers once it is done. */
  async refreshConnection(connectionId: string): Promise<Connection> {
    this.tokens.invalidate(connectionId);
    const connection = await this.call('refreshConnection', { connectionId });
    this.tokens.invalidate(connectionId);
    return connection;
  }

  /** A new authorization URL for the same connection; `scopes` are added to those granted. */
  async reauthorizeConnection(connectionId: string, request?: ReauthorizeRequest): Promise<StartedConnection> {
    this.tokens.invalidate(connectionId);
    return this.call('reauthorizeConnection', { connectionId, body: request ?? {} });
  }

  /**
   * Confirms a session-bound connection with the `completionCode` of the browser's return and the
   * verifier kept in the user's session. Sent once, never retried: a second completion counts as a
   * reused code and revokes the connection. Started with `onExistingAccount: "update"` for an account
   * already connected, the answer is that connection, with `mergedFrom` naming this one.
   */
  completeConnection(connectionId: string, request: CompleteConnectionRequest): Promise<CompletedConnection> {
    return this.call('completeConnection', { connectionId, body: request }, { retryable: false });
  }

  /** A single-use connect URL for one end user (e.g. for an MCP server's URL-mode elicitation). */
  createConnectLink(request: CreateConnectLinkRequest): Promise<ConnectLink> {
    return this.call('createConnectLink', { body: request }, { retryable: false });
  }

  listProviders(): Promise<ProviderList> {
    return this.call('listProviders', {});
  }

  /**
   * Calls `apiBaseUrl/<path>` of the connection's provider through the broker, which adds the
   * credentials. `path` is sent as given (query included; encode its segments yourself). The
   * provider's answer comes back unchanged, whatever its status; the broker's own upstream failures
   * (marked `x-broker-error`) throw. GET, PUT and DELETE are retried on 429/503.
   */
  async proxy(connectionId: string, path: string, init: ProxyInit = {}): Promise<Response> {
    const method = init.method ?? 'GET';
    const operation = CLIENT_OPERATIONS[PROXY_OPERATIONS[method]];
    const url = this.url(operation.path, connectionId).replace('{path}', () => path.replace(/^\/+/, ''));
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.apiKey}`);
    const answer = await send({ method: operation.method, url, headers, body: init.body, retryable: IDEMPOTENT_PROXY_METHODS.includes(method) }, this.retry, this.env);
    if (answer.response.headers.has('x-broker-error')) throw await errorFromResponse(answer.response, answer);
    return answer.response;
  }

  private url(template: string, connectionId: string | undefined): string {
    const path = template.replace('{id}', () => {
      if (connectionId === undefined || connectionId === '') throw new TypeError('connectionId is required');
      return encodeURIComponent(connectionId);
    });
    return `${this.apiUrl}${path}`;
  }

  private async call<Id extends JsonOperationId>(id: Id, input: CallInput<Id>, options: { retryable?: boolean } = {}): Promise<ClientOperationTypes[Id]['response']> {
    const operation = CLIENT_OPERATIONS[id];
    const url = new URL(this.url(operation.path, input.connectionId));
    for (const [name, value] of Object.entries((input.query ?? {}) as Record<string, unknown>)) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers = new Headers({ accept: 'application/json', authorization: `Bearer ${this.apiKey}` });
    const request: OutgoingRequest = { method: operation.method, url: url.toString(), headers, retryable: options.retryable ?? true };
    if (input.body !== undefined) {
      request.body = JSON.stringify(input.body);
      headers.set('content-type', 'application/json');
    }
    const answer = await send(request, this.retry, this.env);
    if (answer.response.status !== operation.success) throw await errorFromResponse(answer.response, answer);
    if (answer.response.status === 204) return undefined as ClientOperationTypes[Id]['response'];
    try {
      return (await answer.response.json()) as ClientOperationTypes[Id]['response'];
    } catch (cause) {
      throw new BrokerApiError('UNEXPECTED_RESPONSE', `${operation.method} ${operation.path} answered ${answer.response.status} without JSON`, { status: answer.response.status, attempts: answer.attempts, cause });
    }
  }
}
