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
function createClient(tableName: string, env: NodeJS.ProcessEnv): TableClient {
  const connectionString = env.AzureWebJobsStorage;
  if (connectionString) {
    return TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: allowsHttp(connectionString) });
  }
  const accountName = env.AzureWebJobsStorage__accountName;
  if (accountName) {
    const endpoint = env.AzureWebJobsStorage__tableServiceUri ?? `https://${accountName}.table.core.windows.net`;
    return new TableClient(endpoint, tableName, new DefaultAzureCredential());
  }
  throw new BrokerError('CONFIG_INVALID', 'setting "AzureWebJobsStorage" is not set');
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

/** A cheap round trip proving the storage account answers (used by GET /api/health). */
export async function pingStorage(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const connectionString = env.AzureWebJobsStorage;
  if (!connectionString) {
    await openTable(TableNames.Connections, env);
    return;
  }
  const service = TableServiceClient.fromConnectionString(connectionString, { allowInsecureConnection: allowsHttp(connectionString) });
  const tables = service.listTables().byPage({ maxPageSize: 1 });
  await tables.next();
}

export function isStatus(error: unknown, status: number): boolean {
  return typeof error === 'object' && error !== null && (error as { statusCode?: number }).statusCode === status;
}
