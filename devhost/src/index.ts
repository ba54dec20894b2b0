/** devhost: a local Azure Functions host for Node.js programming model v4 apps with Durable Functions. */
export { startHost, type HostOptions, type RunningHost } from './host';
export { createLogger, type HostLogger } from './log';
export { ensureAzurite, probePort } from './storage/azurite';
export { developmentAccount, parseConnectionString } from './storage/connection-string';
