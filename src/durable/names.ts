/** Durable function and event names, shared by registrations, orchestrations and HTTP functions. */
export const Orchestrations = {
  Connection: 'connectionOrchestrator',
  WebhookDelivery: 'webhookDeliveryOrchestrator',
} as const;

export const Activities = {
  Exchange: 'exchangeCredentials',
  /** One poll of a device authorization's token endpoint (RFC 8628 §3.4). */
  PollDeviceToken: 'pollDeviceToken',
  Refresh: 'refreshCredentials',
  Revoke: 'revokeConnection',
  MarkOutcome: 'markConnectionOutcome',
  EnqueueWebhook: 'enqueueWebhook',
  DeliverWebhook: 'deliverWebhook',
  RecordFailedWebhook: 'recordFailedWebhook',
} as const;

/** External events raised on a connection's orchestration. Payloads carry references only. */
export const Events = {
  Callback: 'callback',
  Refresh: 'refresh',
  Revoke: 'revoke',
  Reauthorize: 'reauthorize',
  /** The client confirmed a session-bound connection (POST …/complete). */
  Complete: 'complete',
} as const;
