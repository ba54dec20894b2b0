/**
 * @durable-oauth-broker/client: a typed client for the Durable OAuth Broker's client API, with
 * retries on 429/503, a token cache and webhook verification. No runtime dependencies (Node ≥ 20).
 */
export { BrokerClient } from './client';
export type { BrokerClientOptions, Provider, ProxyInit, ProxyMethod } from './client';
export { BrokerApiError, CLIENT_ERROR_CODES, isBrokerApiError } from './errors';
export type { BrokerApiErrorOptions, BrokerErrorCode, ClientErrorCode } from './errors';
export { API_BASE_PATH, CLIENT_OPERATIONS, ERROR_CODES } from './generated/openapi';
export type {
  ClientOperationId,
  ClientOperationTypes,
  CompletedConnection,
  Connection,
  ConnectionError,
  ConnectionPage,
  ConnectionStatus,
  ErrorCode,
  ErrorResponse,
  ListConnectionsQuery,
  ProviderList,
  StartConnectionRequest,
  StartedConnection,
  StartedMachineConnection,
  Token,
} from './generated/openapi';
export { DEFAULT_RETRY, parseRetryAfter, RETRYABLE_STATUSES } from './retry';
export type { RetryOptions } from './retry';
export { DEFAULT_REFRESH_MARGIN_MS, isOAuth2Token, TokenCache } from './token-cache';
export type { OAuth1Token, OAuth2Token, TokenCacheOptions } from './token-cache';
export type { Environment } from './transport';
export { constructWebhookEvent, DEFAULT_WEBHOOK_TOLERANCE_SECONDS, STANDARD_WEBHOOK_HEADERS, verifyWebhook, WEBHOOK_HEADERS } from './webhooks';
export type { VerifyWebhookOptions, WebhookEvent, WebhookEventType, WebhookHeaders } from './webhooks';
