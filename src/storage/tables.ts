/**
 * Table clients for the broker's own tables in the `AzureWebJobsStorage` account. The only place that
 * builds `TableClient`s; the composition root (src/runtime.ts) opens each table once per process.
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { BrokerError } from '../domain/errors';

export const TableNames = {
  Connections: 'BrokerConnections',
  Authorizations: 'BrokerAuthorizations',
  FailedWebhooks: 'BrokerFailedWebhooks',
  ConnectionEvents: 'BrokerConnectionEvents',
} as const;
export type TableName = (typeof TableNames)[keyof typeof TableNames];

/** Development storage and explicit http:// endpoints (Azurite) are plain HTTP by design. */
function allowsHttp(connectionString: string): boolean {
  return /UseDevelopmentStorage=true/i.test(connectionString) || /Endpoint=http:/i.test(connectionString);
}

/**
 * Accepts a connection string (incl. `UseDevelopmentStorage=true`) or, as on Azure with managed
 * identity, `AzureWebJobsStorage__accountName` (identity-based connections).
 */
function tableAccess(env: NodeJS.ProcessEnv): { connectionString: string } | { endpoint: string } {
  const connectionString = env.AzureWebJobsStorage;
  if (connectionString) return { connectionString };
  const accountName = env.AzureWebJobsStorage__accountName;
  if (accountName) return { endpoint: env.AzureWebJobsStorage__tableServiceUri ?? `https://${accountName}.table.core.windows.net` };
  throw new BrokerError('CONFIG_INVALID', 'setting "AzureWebJobsStorage" is not set');
}

function createClient(tableName: string, env: NodeJS.ProcessEnv): TableClient {
  const access = tableAccess(env);
  return 'connectionString' in access
    ? TableClient.fromConnectionString(access.connectionString, tableName, { allowInsecureConnection: allowsHttp(access.connectionString) })
    : new TableClient(access.endpoint, tableName, new DefaultAzureCredential());
}

function createServiceClient(env: NodeJS.ProcessEnv): TableServiceClient {
  const access = tableAccess(env);
  return 'connectionString' in access
    ? TableServiceClient.fromConnectionString(access.connectionString, { allowInsecureConnection: allowsHttp(access.connectionString) })
    : new TableServiceClient(access.endpoint, new DefaultAzureCredential());
}

/** The table's client, once the table exists (created if missing). */
export async function openTable(tableName: TableName, env: NodeJS.ProcessEnv = process.env): Promise<TableClient> {
  const table = createClient(tableName, env);
  try {
    await table.createTable();
  } catch (error) {
    throw new BrokerError('STORAGE_UNAVAILABLE', `table storage is not reachable (${tableName})`, { cause: error, transient: true });
  }
  return table;
}

/**
 * A cheap round trip proving the storage account answers (GET /api/health, through
 * src/services/health.ts): one table listed. The client is built on first use and kept, so a check
 * reuses its connection instead of opening one.
 */
export function storageRoundTrip(env: NodeJS.ProcessEnv = process.env): () => Promise<void> {
  let service: TableServiceClient | undefined;
  return async () => {
    service ??= createServiceClient(env);
    await service.listTables().byPage({ maxPageSize: 1 }).next();
  };
}

export function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: number }).statusCode === status;
}
