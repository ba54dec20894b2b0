/**
 * The OpenAPI 3.1 description of the broker's whole HTTP API (served at GET /api/openapi.json).
 * A test compares its paths and methods with the routes the app actually registers, both ways.
 * @see https://spec.openapis.org/oas/v3.1.0
 */
import { CONNECTION_STATUSES, EXPIRY_SOURCES } from '../domain/connection';
import { ERROR_CODES } from '../domain/errors';

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json): Json => ({ 'application/json': { schema } });
const answer = (description: string, schema?: Json, headers?: Json): Json => ({
  description,
  ...(schema ? { content: jsonContent(schema) } : {}),
  ...(headers ? { headers } : {}),
});
const errorRef = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

const CLIENT_SECURITY = [{ clientKey: [] }, { clientApiKey: [] }];
const OPERATOR_SECURITY = [{ operatorKey: [] }, { operatorApiKey: [] }];
const CLIENT_ERRORS = { '401': errorRef('Unauthorized') };
const OPERATOR_ERRORS = { '401': errorRef('Unauthorized'), '403': errorRef('Forbidden') };
const CONNECTION_ID = { $ref: '#/components/parameters/ConnectionId' };
/** Connection ids are unique per client only: operators name the client when several hold the id. */
const OPERATOR_CLIENT_ID = {
  name: 'clientId',
  in: 'query',
  required: false,
  description: 'The client whose connection is meant. Required when several clients hold this connection id (otherwise 400 INVALID_REQUEST naming them in `clientIds`).',
  schema: { type: 'string', minLength: 1, maxLength: 128 },
};

/** `body`: a required JSON body; `requestBody`: any other (optional, form-encoded). */
function operation(
  summary: string,
  options: { id: string; tags: string[]; security?: Json[]; parameters?: Json[]; body?: Json; requestBody?: Json; responses: Json; description?: string },
): Json {
  return {
    operationId: options.id,
    summary,
    ...(options.description ? { description: options.description } : {}),
    tags: options.tags,
    security: options.security ?? [],
    ...(options.parameters ? { parameters: options.parameters } : {}),
    ...(options.body ? { requestBody: { required: true, content: jsonContent(options.body) } } : {}),
    ...(options.requestBody ? { requestBody: options.requestBody } : {}),
    responses: options.responses,
  };
}

const query = (name: string, description: string, schema: Json = { type: 'string' }): Json => ({ name, in: 'query', required: false, description, schema });

const PAGE_PARAMETERS = [
  query('top', 'Page size (1–1000, default 50).', { type: 'integer', minimum: 1, maximum: 1000, default: 50 }),
  query('continuation', 'The `continuation` of the previous page.'),
];
const LIST_PARAMETERS = [
  query('provider', 'Only connections to this provider.'),
  query('status', 'Only connections in this status.', ref('ConnectionStatus')),
  query('endUserId', 'Only connections of this end user.'),
  query('accountSubject', 'Only connections whose upstream `account.subject` is this (connections made since accounts got filter columns).'),
  query('accountIssuer', 'Only connections whose upstream `account.issuer` is this; with `accountSubject`, exactly one upstream account.'),
  ...PAGE_PARAMETERS,
];

function staticAsset(id: string, summary: string, contentType: string): Json {
  return {
    get: operation(summary, {
      id,
      tags: ['pages'],
      responses: { '200': { description: summary, content: { [contentType]: { schema: { type: 'string' } } } } },
    }),
  };
}

const PROXY_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

const proxyPath: Json = Object.fromEntries(
  PROXY_METHODS.map((method) => [
    method,
    operation(`Proxy a ${method.toUpperCase()} to the provider's API`, {
      id: `proxy${method[0].toUpperCase()}${method.slice(1)}`,
      tags: ['connections'],
      security: CLIENT_SECURITY,
      description:
        "Calls `apiBaseUrl/{path}` (path and query as received) with the connection's credentials. The provider's status, headers and body come back unchanged (except hop-by-hop headers, `Set-Cookie` and `x-broker-*`); request headers are forwarded by allow-list (docs/configuration.md); the broker's own failures are 4xx/502/504 JSON errors with an `x-broker-error` header.",
      parameters: [CONNECTION_ID, { name: 'path', in: 'path', required: true, description: 'The rest of the URL, slashes included.', schema: { type: 'string' } }],
      ...(method === 'get' || method === 'delete' ? {} : { body: {} }),
      responses: {
        default: { description: "The provider's answer, unchanged.", content: { '*/*': { schema: {} } } },
        '400': errorRef('BadRequest'),
        ...CLIENT_ERRORS,
        '404': errorRef('NotFound'),
        '409': errorRef('NotConnected'),
        '410': errorRef('Revoked'),
        '429': errorRef('Limited'),
        '502': errorRef('Upstream'),
        '504': errorRef('Upstream'),
      },
    }),
  ]),
);

const SCHEMAS: Json = {
  ConnectionStatus: { type: 'string', enum: [...CONNECTION_STATUSES] },
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string', enum: [...ERROR_CODES] }, message: { type: 'string' } },
      },
    },
  },
  ConnectionError: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
  Connection: {
    type: 'object',
    required: ['connectionId', 'provider', 'protocol', 'status', 'scopes', 'endUserId', 'createdAt', 'updatedAt', 'expiresAt', 'lastRefreshedAt'],
    properties: {
      connectionId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
      provider: { type: 'string' },
      protocol: { type: 'string', enum: ['oauth1', 'oauth2'] },
      status: ref('ConnectionStatus'),
      scopes: { type: 'array', items: { type: 'string' } },
      endUserId: { type: ['string', 'null'] },
      metadata: { type: ['object', 'null'] },
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      expiresAt: { type: ['string', 'null'], format: 'date-time' },
      lastRefreshedAt: { type: ['string', 'null'], format: 'date-time' },
      authorizationExpiresAt: { type: 'string', format: 'date-time', description: 'Only while `awaiting_callback`.' },
      bound: { type: 'boolean', description: 'Started with a `bindingChallenge` (session-bound).' },
      expiresAtSource: {
        type: 'string',
        enum: [...EXPIRY_SOURCES],
        description: 'What set `expiresAt`: the answer\'s `expires_in`, the JWT access token\'s `exp`, introspection, the provider\'s configured lifetime, or the one-hour fallback. Absent when `expiresAt` is null.',
      },
      account: ref('UpstreamAccount'),
      mergedInto: {
        type: 'string',
        description: 'Status `merged` only: started with `onExistingAccount: "update"`, it connected an account the end user already had connected; its credentials went onto this connection.',
      },
      refreshAttempts: ref('RefreshAttempts'),
      providerDeprecation: ref('ProviderDeprecation'),
      grant: {
        type: 'string',
        enum: ['client_credentials', 'device_code'],
        description: 'Present for a machine-to-machine connection (`client_credentials`: every token is fetched with the client credentials grant) or one made with the device authorization grant (`device_code`, RFC 8628).',
      },
      error: ref('ConnectionError'),
    },
  },
  UpstreamAccount: {
    type: 'object',
    description:
      'Who connected at the provider: from the ID Token validated at the exchange (OpenID Connect providers with an `issuer`, when `openid` was requested), else from the provider\'s user endpoint when its definition names one (`accountInfo`; `issuer` is then the provider\'s issuer or the endpoint\'s origin). Two connections hold the same account when `issuer` and `subject` are equal.',
    required: ['issuer', 'subject'],
    properties: {
      issuer: { type: 'string' },
      subject: { type: 'string' },
      displayName: { type: 'string' },
      email: { type: 'string' },
    },
  },
  ProviderDeprecation: {
    type: 'object',
    description: 'The provider stops serving this connection\'s protocol after `deprecatedAfter` (UTC day); reauthorize onto `successor` before then.',
    required: ['deprecatedAfter'],
    properties: { deprecatedAfter: { type: 'string', format: 'date' }, successor: { type: 'string' } },
  },
  RefreshAttempts: {
    type: 'object',
    description: 'Present while refreshes keep failing. After `BROKER_REFRESH_FAILURE_SPAN_SECONDS` (default 4 days) of failures the connection becomes `reauth_required` with error code `REFRESH_EXHAUSTED`.',
    required: ['failures', 'firstFailureAt', 'lastFailureAt'],
    properties: {
      failures: { type: 'integer', minimum: 1 },
      firstFailureAt: { type: 'string', format: 'date-time' },
      lastFailureAt: { type: 'string', format: 'date-time' },
    },
  },
  OperatorConnection: {
    allOf: [
      ref('Connection'),
      {
        type: 'object',
        required: ['clientId'],
        properties: {
          clientId: { type: 'string' },
          instanceId: { type: 'string', description: 'The durable instance id of its orchestration: `{clientId}.{connectionId}`, or the connection id for connections created before ids were per client.' },
        },
      },
    ],
  },
  CompletedConnection: {
    allOf: [
      ref('Connection'),
      {
        type: 'object',
        properties: {
          mergedFrom: {
            type: 'string',
            description: 'Started with `onExistingAccount: "update"` for an account this end user already had connected: the confirmed credentials went onto this connection (the one answered), and the connection that was completed (named here) is now `merged` into it.',
          },
        },
      },
    ],
  },
  ConnectionPage: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Connection') }, continuation: { type: 'string' } } },
  OperatorConnectionPage: {
    type: 'object',
    required: ['items'],
    properties: { items: { type: 'array', items: ref('OperatorConnection') }, continuation: { type: 'string' } },
  },
  StartConnectionRequest: {
    type: 'object',
    required: ['provider'],
    additionalProperties: false,
    properties: {
      provider: { type: 'string', minLength: 1 },
      scopes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
      connectionId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
      endUserId: { type: 'string', minLength: 1, maxLength: 256 },
      returnTo: { type: 'string', format: 'uri', description: 'Must start with an entry of `BROKER_ALLOWED_RETURN_URLS`.' },
      metadata: { type: 'object', description: 'At most 4096 bytes of JSON.' },
      bindingChallenge: {
        type: 'string',
        pattern: '^[A-Za-z0-9_-]{43}$',
        description:
          'BASE64URL(SHA-256(verifier)) of a verifier the client keeps in its user\'s session (RFC 9700 §4.7). After the callback the connection is `awaiting_confirmation` and the browser returns to `returnTo` (required) with a single-use `completionCode`; POST /connections/{id}/complete with both makes it `connected`. Required for clients in `BROKER_BINDING_REQUIRED_CLIENTS`.',
      },
      onExistingAccount: {
        type: 'string',
        enum: ['add', 'update'],
        default: 'add',
        description:
          'When the exchange names an upstream account (`account`) that another connection of this end user (`endUserId`, required) and provider already holds (status `connected`, `refreshing` or `reauth_required`): `add` keeps both; `update` puts the new credentials on the existing connection (its id keeps working with the new tokens) and this one ends `merged` with `mergedInto`. The callback then redirects with the existing connection\'s id, `status=connected` and `mergedFrom`. With `bindingChallenge` nothing moves before the confirmation: the callback redirects as for any session-bound connection (this id, `awaiting_confirmation`, `completionCode`), and POST /connections/{id}/complete performs the merge and answers the existing connection with `mergedFrom`.',
      },
      grant: {
        type: 'string',
        enum: ['authorization_code', 'client_credentials', 'device_code'],
        description:
          'Default `authorization_code` (an end user consents in a browser). `client_credentials` (RFC 6749 §4.4): a machine-to-machine connection for a provider whose definition lists the grant in `grants`; no end user, no callback, so `returnTo` and `bindingChallenge` do not apply. `device_code` (RFC 8628): the end user approves a user code on another device; no callback, so `returnTo` and `bindingChallenge` do not apply.',
      },
    },
  },
  CompleteConnectionRequest: {
    type: 'object',
    required: ['completionCode', 'bindingVerifier'],
    additionalProperties: false,
    properties: {
      completionCode: { type: 'string', minLength: 1, maxLength: 256, description: 'From the `completionCode` query parameter of the browser\'s return to `returnTo`.' },
      bindingVerifier: { type: 'string', pattern: '^[A-Za-z0-9._~-]{43,128}$', description: 'The verifier whose S256 was the `bindingChallenge`.' },
    },
  },
  ReauthorizeRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      scopes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 }, description: 'Scopes to add: consent is asked for these and every scope already granted.' },
      bindingChallenge: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$', description: 'A session-bound connection: bind it to the session asking now.' },
      provider: {
        type: 'string',
        description:
          'The `successor` of the connection\'s (deprecated) provider: consent is asked there, with `scopes` or the successor\'s default scopes, and once it is given the same connection id is on the successor and the old provider\'s credentials are revoked (only after the new ones are stored). Any other provider: `400 PROVIDER_NOT_SUCCESSOR`.',
      },
    },
  },
  CreateConnectLinkRequest: {
    type: 'object',
    required: ['endUserId'],
    additionalProperties: false,
    description: 'Exactly one of `provider` (the page opens that provider) and `providers` (the page offers a choice).',
    properties: {
      endUserId: { type: 'string', minLength: 1, maxLength: 256 },
      provider: { type: 'string', minLength: 1 },
      providers: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string', minLength: 1 } },
      scopes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
      returnTo: { type: 'string', format: 'uri' },
      bindingChallenge: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
      expiresInSeconds: { type: 'integer', minimum: 60, maximum: 3600, default: 600 },
    },
  },
  ConnectLink: {
    type: 'object',
    required: ['url', 'expiresAt'],
    properties: {
      url: { type: 'string', format: 'uri', description: 'Single use; carries only a random token (no end user, no provider).' },
      expiresAt: { type: 'string', format: 'date-time' },
    },
  },
  StartedConnection: {
    type: 'object',
    required: ['connectionId', 'provider', 'status', 'authorizationUrl', 'authorizationExpiresAt'],
    properties: {
      connectionId: { type: 'string' },
      provider: { type: 'string' },
      status: { const: 'awaiting_callback' },
      authorizationUrl: { type: 'string', format: 'uri' },
      authorizationExpiresAt: { type: 'string', format: 'date-time' },
    },
  },
  StartedMachineConnection: {
    type: 'object',
    description:
      'A client credentials connection. The start waits a few seconds for the first token: normally `connected`; else `refreshing` (the first token is still being fetched, poll GET /connections/{id}) or `failed` with `error`.',
    required: ['connectionId', 'provider', 'grant', 'status', 'scopes', 'expiresAt'],
    properties: {
      connectionId: { type: 'string' },
      provider: { type: 'string' },
      grant: { const: 'client_credentials' },
      status: ref('ConnectionStatus'),
      scopes: { type: 'array', items: { type: 'string' } },
      expiresAt: { type: ['string', 'null'], format: 'date-time' },
      error: ref('ConnectionError'),
    },
  },
  StartedDeviceConnection: {
    type: 'object',
    description:
      'A device authorization (RFC 8628): show the end user `userCode` and `verificationUri` (or `verificationUriComplete`, e.g. as a QR code). The broker polls the provider every `interval` seconds; the connection ends `connected`, `denied` or `expired` (at `authorizationExpiresAt`).',
    required: ['connectionId', 'provider', 'grant', 'status', 'userCode', 'verificationUri', 'authorizationExpiresAt', 'interval'],
    properties: {
      connectionId: { type: 'string' },
      provider: { type: 'string' },
      grant: { const: 'device_code' },
      status: { const: 'awaiting_callback' },
      userCode: { type: 'string' },
      verificationUri: { type: 'string', format: 'uri' },
      verificationUriComplete: { type: 'string', format: 'uri' },
      authorizationExpiresAt: { type: 'string', format: 'date-time' },
      interval: { type: 'integer', description: 'Seconds between the broker\'s polls of the token endpoint.' },
    },
  },
  StartConnectionAnswer: { oneOf: [ref('StartedConnection'), ref('StartedMachineConnection'), ref('StartedDeviceConnection')] },
  Token: {
    oneOf: [
      {
        type: 'object',
        title: 'OAuth 2.0',
        required: ['tokenType', 'accessToken', 'expiresAt', 'scopes'],
        properties: {
          tokenType: {
            type: 'string',
            description: 'Usually `Bearer`. `DPoP` for a provider defined with `dpop: true`: the token is bound to the connection\'s key, which never leaves the broker, so it is used through the proxy.',
          },
          accessToken: { type: 'string' },
          expiresAt: { type: ['string', 'null'], format: 'date-time' },
          scopes: { type: 'array', items: { type: 'string' } },
        },
      },
      {
        type: 'object',
        title: 'OAuth 1.0a',
        required: ['oauthToken', 'oauthTokenSecret'],
        properties: { oauthToken: { type: 'string' }, oauthTokenSecret: { type: 'string' } },
      },
    ],
  },
  ProviderList: {
    type: 'object',
    required: ['items'],
    properties: {
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'protocol', 'displayName'],
          properties: { name: { type: 'string' }, protocol: { type: 'string', enum: ['oauth1', 'oauth2'] }, displayName: { type: 'string' } },
        },
      },
    },
  },
  ConnectionEvent: {
    type: 'object',
    required: ['connectionId', 'eventId', 'type', 'at', 'details'],
    description: 'One entry of a connection\'s audit trail. Never carries a token or secret: codes, versions, counts and times only.',
    properties: {
      connectionId: { type: 'string' },
      eventId: { type: 'string', description: 'Deterministic: the same event recorded twice (a re-run activity) is one entry.' },
      type: {
        type: 'string',
        enum: ['created', 'authorized', 'denied', 'exchanged', 'refreshed', 'refresh_failed', 'token_reads', 'proxy_calls', 'reauthorized', 'revoked', 'expired', 'failed'],
      },
      at: { type: 'string', format: 'date-time', description: 'For `token_reads` and `proxy_calls`: the first count of the hour (`details.hourStart` names the hour).' },
      clientId: { type: 'string', description: 'The client the event concerns (for `token_reads`: who was handed the token).' },
      details: {
        type: 'object',
        description:
          '`refreshed`: `credentialsVersion`, `latenessMs` (after the due time; negative when ahead, e.g. forced), `remainingMs`, `refreshTokenRotated`, `expiresAt`. ' +
          '`refresh_failed`: `errorCode`, `providerError`, `transient`, `status`. `token_reads` / `proxy_calls`: `count` in the hour (per host), `byStatus` for proxied calls.',
      },
    },
  },
  ConnectionEventPage: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('ConnectionEvent') }, continuation: { type: 'string' } } },
  OperatorConnectionDetail: {
    type: 'object',
    required: ['connection', 'orchestration'],
    properties: {
      connection: ref('OperatorConnection'),
      orchestration: {
        type: ['object', 'null'],
        description: 'Null when no orchestration exists (never started, or purged). Everything in it is redacted.',
        properties: {
          runtimeStatus: { type: 'string' },
          customStatus: {},
          createdTime: { type: 'string', format: 'date-time' },
          lastUpdatedTime: { type: 'string', format: 'date-time' },
          input: {},
          output: {},
          history: { type: 'array', items: { type: 'object' } },
        },
      },
    },
  },
  FailedWebhook: {
    type: 'object',
    description: 'A webhook delivery whose retry window closed without a 2xx (docs/webhooks.md).',
    required: ['deliveryId', 'webhookId', 'type', 'clientId', 'connectionId', 'provider', 'occurredAt', 'attempts', 'firstAttemptAt', 'failedAt', 'lastError', 'payload'],
    properties: {
      deliveryId: { type: 'string', description: 'Names the dead letter in the redeliver route.' },
      webhookId: { type: 'string', description: 'The `webhook-id` the receiver saw (the payload `id`).' },
      type: { type: 'string' },
      clientId: { type: 'string' },
      connectionId: { type: 'string' },
      provider: { type: 'string' },
      occurredAt: { type: 'string', format: 'date-time' },
      attempts: { type: 'integer', minimum: 1 },
      firstAttemptAt: { type: 'string', format: 'date-time' },
      failedAt: { type: 'string', format: 'date-time' },
      lastError: { type: 'string', description: 'Redacted.' },
      payload: { type: 'object', description: 'The payload as sent, redacted.' },
    },
  },
};

const errorResponse = (description: string): Json => answer(description, ref('Error'));

/** The document; `servers` is relative so it holds wherever the app is hosted. */
export const OPENAPI_DOCUMENT: Json = {
  openapi: '3.1.0',
  info: {
    title: 'Durable OAuth Broker',
    version: '0.1.0',
    summary: 'Connects end users to OAuth 1.0a and OAuth 2.0 providers, keeps their credentials fresh and uses them on the client’s behalf.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [{ url: '/api' }],
  tags: [
    { name: 'connections', description: 'Client endpoints (client API key).' },
    { name: 'operators', description: 'Operator endpoints (operator key).' },
    { name: 'public', description: 'Anonymous endpoints.' },
    { name: 'pages', description: 'Browser pages and their assets (anonymous).' },
  ],
  paths: {
    '/connections': {
      post: operation('Start a connection', {
        id: 'startConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        body: ref('StartConnectionRequest'),
        description:
          'With `bindingChallenge` the connection is session-bound (see POST /connections/{id}/complete). With `grant: "client_credentials"` there is no end user: the broker fetches the token itself and renews it before it expires. With `grant: "device_code"` the answer carries the user code to show the end user, and the broker polls until it is approved. `400 GRANT_NOT_ALLOWED` when the provider does not list the grant.',
        responses: {
          '201': answer('Started; send the end user to `authorizationUrl` (client credentials: no URL, see `status`; device code: show `userCode` at `verificationUri`).', ref('StartConnectionAnswer'), { Location: { schema: { type: 'string' } } }),
          '400': errorRef('BadRequest'),
          ...CLIENT_ERRORS,
          '409': errorResponse('A connection with this `connectionId` exists.'),
          '429': errorRef('Limited'),
        },
      }),
      get: operation("List the client's connections", {
        id: 'listConnections',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        parameters: LIST_PARAMETERS,
        responses: { '200': answer('One page.', ref('ConnectionPage')), '400': errorRef('BadRequest'), ...CLIENT_ERRORS },
      }),
    },
    '/connections/{id}': {
      get: operation('Read a connection', {
        id: 'getConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        parameters: [CONNECTION_ID],
        responses: { '200': answer('The connection.', ref('Connection')), ...CLIENT_ERRORS, '404': errorRef('NotFound') },
      }),
      delete: operation('Revoke a connection', {
        id: 'revokeConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        description: 'Revokes at the provider where supported and erases the credentials. Idempotent.',
        parameters: [CONNECTION_ID],
        responses: { '204': { description: 'Revoked.' }, ...CLIENT_ERRORS, '404': errorRef('NotFound') },
      }),
    },
    '/connections/{id}/token': {
      get: operation('Get a valid token', {
        id: 'getToken',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        description:
          'Refreshes first when the token is due; never returns a token expiring within the next second. With `scopes`, a connection not granted all of them answers `409 SCOPES_MISSING` with `missing` and `granted` (ask for them with POST …/reauthorize {scopes}).',
        parameters: [CONNECTION_ID, query('scopes', 'Comma-separated scopes the caller needs.')],
        responses: {
          '200': answer('The token.', ref('Token')),
          ...CLIENT_ERRORS,
          '404': errorRef('NotFound'),
          '409': errorResponse('Not connected (`CONNECTION_NOT_CONNECTED`, with `status`; also while `awaiting_confirmation`) or scopes not granted (`SCOPES_MISSING`, with `missing`).'),
          '410': errorRef('Revoked'),
          '502': errorResponse('The provider could not refresh the token yet (`PROVIDER_UNAVAILABLE`).'),
          '503': errorResponse('The refresh did not complete in time (`REFRESH_TIMEOUT`), or storage is unavailable.'),
        },
      }),
    },
    '/connections/{id}/refresh': {
      post: operation('Force a refresh', {
        id: 'refreshConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        parameters: [CONNECTION_ID],
        responses: { '200': answer('Refreshed.', ref('Connection')), ...CLIENT_ERRORS, '404': errorRef('NotFound'), '409': errorRef('NotConnected'), '410': errorRef('Revoked'), '429': errorRef('Limited') },
      }),
    },
    '/connections/{id}/reauthorize': {
      post: operation('Authorize the same connection again', {
        id: 'reauthorizeConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        description:
          'The body is optional. With `scopes`, consent is asked for the union of the granted and the new scopes; the same connection id carries the wider grant afterwards. With `provider` (the successor of a deprecated provider), the connection moves onto the successor once its consent is given. `400 GRANT_NOT_ALLOWED` for a client credentials connection, and for a device connection whose provider does not also list `authorization_code` in its `grants`.',
        parameters: [CONNECTION_ID],
        requestBody: { required: false, content: jsonContent(ref('ReauthorizeRequest')) },
        responses: {
          '200': answer('A new authorization URL.', ref('StartedConnection')),
          '400': errorRef('BadRequest'),
          ...CLIENT_ERRORS,
          '404': errorRef('NotFound'),
          '410': errorRef('Revoked'),
          '429': errorRef('Limited'),
        },
      }),
    },
    '/connections/{id}/complete': {
      post: operation('Confirm a session-bound connection', {
        id: 'completeConnection',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        description:
          'Turns `awaiting_confirmation` into `connected` when the completion code (single use) and the verifier of the session that started the connection match. Started with `onExistingAccount: "update"` for an account another connection of this end user already holds, the confirmed credentials go onto that connection instead (only now, never before the confirmation): the answer is that connection, with `mergedFrom` naming this one, which ends `merged` with `mergedInto`. A wrong or reused code or verifier revokes the connection (`403 BINDING_REJECTED`): its credentials are revoked at the provider and erased, and a connection it would have merged into is left as it was.',
        parameters: [CONNECTION_ID],
        body: ref('CompleteConnectionRequest'),
        responses: {
          '200': answer('Connected (or merged into the connection answered, see `mergedFrom`).', ref('CompletedConnection')),
          '400': errorRef('BadRequest'),
          ...CLIENT_ERRORS,
          '403': errorResponse('Refused (`BINDING_REJECTED`); the connection is revoked and its credentials erased.'),
          '404': errorRef('NotFound'),
          '409': errorResponse('The exchange has not finished yet (`AUTHORIZATION_PENDING`), or the connection did not reach `awaiting_confirmation`.'),
          '410': errorRef('Revoked'),
        },
      }),
    },
    '/connect-links': {
      post: operation('Create a connect link', {
        id: 'createConnectLink',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        description:
          'A single-use URL, valid 10 minutes unless `expiresInSeconds` says otherwise, that opens the connect page for one end user and one provider (or a choice). It carries no personal data and grants nothing by itself: using it starts a connection for that end user, whose consent the provider asks. What an MCP server sends as a URL-mode elicitation.',
        body: ref('CreateConnectLinkRequest'),
        responses: { '201': answer('The link.', ref('ConnectLink')), '400': errorRef('BadRequest'), ...CLIENT_ERRORS },
      }),
    },
    '/link/{token}': {
      get: operation("A connect link's page", {
        id: 'connectLinkPage',
        tags: ['public'],
        description: 'Offers the link\'s provider(s); reading it uses nothing up.',
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } },
          '410': { description: 'Unknown, used or expired link (`CONNECT_LINK_INVALID`, a page).', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      }),
      post: operation('Use a connect link', {
        id: 'useConnectLink',
        tags: ['public'],
        description: "The page's form (`provider=…`, form-encoded): uses the link once, starts the connection and moves the browser on to the provider.",
        parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['provider'], properties: { provider: { type: 'string' } } } } },
        },
        responses: {
          '200': { description: 'A page moving on to the provider.', content: { 'text/html': { schema: { type: 'string' } } } },
          '400': { description: 'The link does not offer that provider (a page).', content: { 'text/html': { schema: { type: 'string' } } } },
          '410': { description: 'Unknown, used or expired link (a page).', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      }),
    },
    '/connections/{id}/proxy/{path}': proxyPath,
    '/callback/{provider}': {
      get: operation("The provider's redirect back to the broker", {
        id: 'oauthCallback',
        tags: ['public'],
        description:
          'OAuth 2.0 `code`/`state` or `error`; OAuth 1.0a `oauth_token`/`oauth_verifier` or `denied`. Redirects to `returnTo` with `connectionId` and `status` appended (and, for a session-bound connection that reached `awaiting_confirmation`, a single-use `completionCode`, given once; for `onExistingAccount: "update"` that found the account already connected, the existing connection\'s `connectionId`, `status=connected` and `mergedFrom` with the id that was started), or shows a page.',
        parameters: [
          { name: 'provider', in: 'path', required: true, schema: { type: 'string' } },
          query('code', 'OAuth 2.0 authorization code.'),
          query('state', 'OAuth 2.0 state.'),
          query('error', 'OAuth 2.0 error (e.g. `access_denied`).'),
          query('error_description', 'OAuth 2.0 error description.'),
          query('iss', 'RFC 9207 issuer identifier; compared with the provider\'s `issuer` (`ISSUER_MISMATCH` when it differs).'),
          query('oauth_token', 'OAuth 1.0a request token.'),
          query('oauth_verifier', 'OAuth 1.0a verifier.'),
          query('denied', 'OAuth 1.0a denial.'),
        ],
        responses: {
          '200': { description: 'A page saying how the authorization ended.', content: { 'text/html': { schema: { type: 'string' } } } },
          '302': { description: 'Back to `returnTo`.', headers: { Location: { schema: { type: 'string' } } } },
          '400': { description: 'Unknown, expired or malformed callback (a page).', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      }),
      post: {
        ...operation("The provider's form post back to the broker (`response_mode=form_post`)", {
          id: 'oauthCallbackFormPost',
          tags: ['public'],
          description:
            'For providers with `responseMode: "form_post"`: the same parameters as the GET, as an `application/x-www-form-urlencoded` body, so the code and state stay out of URLs and request logs. Answers as the GET does, with `303` instead of `302`.',
          parameters: [{ name: 'provider', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': { description: 'A page saying how the authorization ended.', content: { 'text/html': { schema: { type: 'string' } } } },
            '303': { description: 'Back to `returnTo`.', headers: { Location: { schema: { type: 'string' } } } },
            '400': { description: 'Unknown, expired or malformed callback (a page).', content: { 'text/html': { schema: { type: 'string' } } } },
          },
        }),
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: {
                type: 'object',
                properties: { code: { type: 'string' }, state: { type: 'string' }, error: { type: 'string' }, error_description: { type: 'string' } },
              },
            },
          },
        },
      },
    },
    '/mcp/client-metadata/{provider}': {
      get: operation("The broker's OAuth Client ID Metadata Document for a provider", {
        id: 'mcpClientMetadata',
        tags: ['public'],
        description:
          'Its own URL is the `client_id` the broker uses at an MCP server\'s authorization server that supports client metadata documents; it lists the provider\'s callback as the only redirect URI.',
        parameters: [{ name: 'provider', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          '200': answer('The document.', {
            type: 'object',
            required: ['client_id', 'redirect_uris'],
            properties: { client_id: { type: 'string', format: 'uri' }, client_name: { type: 'string' }, redirect_uris: { type: 'array', items: { type: 'string', format: 'uri' } } },
          }),
          '400': errorRef('BadRequest'),
        },
      }),
    },
    '/providers': {
      get: operation('List configured providers', {
        id: 'listProviders',
        tags: ['connections'],
        security: CLIENT_SECURITY,
        responses: { '200': answer('The providers.', ref('ProviderList')), ...CLIENT_ERRORS },
      }),
    },
    '/health': {
      get: operation('Health', {
        id: 'health',
        tags: ['public'],
        responses: {
          '200': answer('Storage answered within the last second (one round trip serves every check of that second, so checks never add up to storage load).', { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }),
          '503': errorResponse('Storage is not reachable yet.'),
        },
      }),
    },
    '/ops/connections': {
      get: operation('List connections of every client', {
        id: 'opsListConnections',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [...LIST_PARAMETERS, query('clientId', 'Only connections of this client.')],
        responses: { '200': answer('One page.', ref('OperatorConnectionPage')), '400': errorRef('BadRequest'), ...OPERATOR_ERRORS },
      }),
    },
    '/ops/mcp-servers': {
      post: operation('Discover and register at an OAuth-protected MCP server', {
        id: 'opsAddMcpServer',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        description:
          "From the MCP server's URL: its protected resource metadata (RFC 9728, from the 401's `WWW-Authenticate` or the well-known URL), its authorization server's metadata (RFC 8414 / OpenID discovery; PKCE S256 required), then a registration (the broker's client metadata document, else RFC 7591 dynamic registration, else `clientId`/`clientSecret`), stored per issuer. Answers the provider definition to add to `BROKER_PROVIDERS` under `provider` (it carries the client secret, or `clientAuthMethod: none` for a registration without one, and the issuer whose RFC 9207 `iss` every callback must name).",
        body: {
          type: 'object',
          required: ['url', 'provider'],
          additionalProperties: false,
          properties: {
            url: { type: 'string', format: 'uri' },
            provider: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
            displayName: { type: 'string' },
            clientId: { type: 'string', description: 'A pre-registered client, used when the server offers neither metadata documents nor registration.' },
            clientSecret: { type: 'string' },
          },
        },
        responses: {
          '200': answer('The registration and the provider definition.', {
            type: 'object',
            required: ['provider', 'issuer', 'resource', 'registeredVia', 'definition'],
            properties: {
              provider: { type: 'string' },
              issuer: { type: 'string' },
              resource: { type: 'string' },
              registeredVia: { type: 'string', enum: ['metadata_document', 'dynamic_registration', 'pre_registered'] },
              definition: { type: 'object' },
            },
          }),
          '400': errorRef('BadRequest'),
          ...OPERATOR_ERRORS,
          '502': errorRef('Upstream'),
        },
      }),
    },
    '/ops/connections/{id}': {
      get: operation('Inspect a connection and its orchestration', {
        id: 'opsGetConnection',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, OPERATOR_CLIENT_ID],
        responses: { '200': answer('The connection with its redacted orchestration.', ref('OperatorConnectionDetail')), '400': errorRef('BadRequest'), ...OPERATOR_ERRORS, '404': errorRef('NotFound') },
      }),
      delete: operation('Revoke a connection (any client)', {
        id: 'opsRevokeConnection',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, OPERATOR_CLIENT_ID],
        responses: { '204': { description: 'Revoked.' }, '400': errorRef('BadRequest'), ...OPERATOR_ERRORS, '404': errorRef('NotFound') },
      }),
    },
    '/ops/connections/{id}/events': {
      get: operation("A connection's audit trail, oldest first", {
        id: 'opsConnectionEvents',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, ...PAGE_PARAMETERS],
        responses: {
          '200': answer('One page of events within the retention period (BROKER_AUDIT_RETENTION_DAYS).', ref('ConnectionEventPage')),
          '400': errorRef('BadRequest'),
          ...OPERATOR_ERRORS,
          '404': errorRef('NotFound'),
        },
      }),
    },
    '/ops/connections/{id}/refresh': {
      post: operation('Force a refresh (any client)', {
        id: 'opsRefreshConnection',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, OPERATOR_CLIENT_ID],
        responses: { '200': answer('Refreshed.', ref('OperatorConnection')), '400': errorRef('BadRequest'), ...OPERATOR_ERRORS, '404': errorRef('NotFound'), '409': errorRef('NotConnected'), '410': errorRef('Revoked') },
      }),
    },
    '/ops/connections/{id}/terminate': {
      post: operation("Stop a connection's orchestration", {
        id: 'opsTerminate',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, OPERATOR_CLIENT_ID],
        responses: {
          '202': answer('Termination requested.', { type: 'object', required: ['connectionId', 'terminated'], properties: { connectionId: { type: 'string' }, clientId: { type: 'string' }, terminated: { const: true } } }),
          ...OPERATOR_ERRORS,
          '404': errorRef('NotFound'),
        },
      }),
    },
    '/ops/connections/{id}/history': {
      delete: operation("Purge a connection's orchestration history", {
        id: 'opsPurge',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [CONNECTION_ID, OPERATOR_CLIENT_ID],
        responses: {
          '200': answer('Purged.', { type: 'object', required: ['connectionId', 'instancesDeleted'], properties: { connectionId: { type: 'string' }, clientId: { type: 'string' }, instancesDeleted: { type: 'integer' } } }),
          '400': errorRef('BadRequest'),
          ...OPERATOR_ERRORS,
          '404': errorRef('NotFound'),
        },
      }),
    },
    '/ops/webhooks/failed': {
      get: operation('List dead-lettered webhook deliveries, newest first', {
        id: 'opsListFailedWebhooks',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        responses: {
          '200': answer('The newest 100.', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('FailedWebhook') } } }),
          ...OPERATOR_ERRORS,
        },
      }),
    },
    '/ops/webhooks/failed/{deliveryId}/redeliver': {
      post: operation('Try a dead-lettered webhook delivery once more, now', {
        id: 'opsRedeliverWebhook',
        tags: ['operators'],
        security: OPERATOR_SECURITY,
        parameters: [{ name: 'deliveryId', in: 'path', required: true, schema: { type: 'string' } }],
        description: 'One immediate, freshly signed attempt with the same `webhook-id`. Success removes the dead letter; a failure keeps it with one attempt more.',
        responses: {
          '200': answer('Delivered.', {
            type: 'object',
            required: ['deliveryId', 'status', 'delivered'],
            properties: { deliveryId: { type: 'string' }, status: { type: 'integer', description: "The receiver's 2xx status." }, delivered: { const: true } },
          }),
          ...OPERATOR_ERRORS,
          '404': errorRef('NotFound'),
          '409': errorResponse('The client no longer has a webhook URL (`CONFLICT`).'),
          '502': errorResponse('The receiver refused or could not be reached (`UPSTREAM_UNREACHABLE`).'),
        },
      }),
    },
    '/openapi.json': {
      get: operation('This document', {
        id: 'openApiDocument',
        tags: ['public'],
        responses: { '200': answer('OpenAPI 3.1 document.', { type: 'object' }) },
      }),
    },
    '/dashboard': staticAsset('dashboardPage', 'Operator dashboard (asks for the operator key)', 'text/html'),
    '/dashboard.js': staticAsset('dashboardScript', "The dashboard's script", 'text/javascript'),
    '/dashboard-webhooks.js': staticAsset('dashboardWebhooksScript', "The dashboard's failed-deliveries panel", 'text/javascript'),
    '/dashboard-charts.js': staticAsset('dashboardChartsScript', "The dashboard's SVG charts", 'text/javascript'),
    '/dashboard-insights.js': staticAsset('dashboardInsightsScript', "The dashboard's overview charts and event log", 'text/javascript'),
    '/connect': staticAsset('connectPage', 'Connect page for newcomers (asks for a client key)', 'text/html'),
    '/connect.js': staticAsset('connectScript', "The connect page's script", 'text/javascript'),
    '/pages.css': staticAsset('pagesStylesheet', 'Stylesheet of the pages', 'text/css'),
    '/callback-result.js': staticAsset('callbackResultScript', "The callback result page's script (tells a broker-connect.js opener the outcome)", 'text/javascript'),
    '/broker-connect.js': staticAsset('connectEmbedScript', "Embeddable connect flow for a client app's own page (popup with redirect fallback)", 'text/javascript'),
  },
  components: {
    securitySchemes: {
      clientKey: { type: 'http', scheme: 'bearer', description: 'A client API key (`BROKER_CLIENT_KEYS`).' },
      clientApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A client API key, as a header.' },
      operatorKey: { type: 'http', scheme: 'bearer', description: 'The operator key (`BROKER_OPERATOR_KEY`).' },
      operatorApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The operator key, as a header.' },
    },
    parameters: {
      ConnectionId: { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' } },
    },
    responses: {
      BadRequest: errorResponse('The request is not valid; `message` names the field.'),
      Unauthorized: errorResponse('No key or a wrong key.'),
      Forbidden: errorResponse('A client key on an operator route.'),
      NotFound: errorResponse('No such connection (or another client’s).'),
      NotConnected: errorResponse('The connection is not connected; `message` gives its status.'),
      Revoked: errorResponse('The connection was revoked (`CONNECTION_REVOKED`).'),
      Upstream: errorResponse("The provider could not be reached or answered too late (the broker's own failure)."),
      Limited: {
        ...errorResponse('Over a per-client limit (`RATE_LIMITED`, or `QUOTA_EXCEEDED` for connections held); nothing was started. `limit` names the setting.'),
        headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
      },
    },
    schemas: SCHEMAS,
  },
};
