/**
 * Storage connection strings: `UseDevelopmentStorage=true` (the emulator's well-known account on
 * 127.0.0.1:10000-10002) or `Key=Value;…` with `TableEndpoint`/`BlobEndpoint` or `AccountName` +
 * `EndpointSuffix`.
 * @see https://learn.microsoft.com/azure/storage/common/storage-configure-connection-string
 */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface StorageAccount {
  /** True for `UseDevelopmentStorage=true`, which asks the host to provide the emulator. */
  development: boolean;
  /** The connection string to hand to the Azure SDKs (explicit endpoints for development storage). */
  connectionString: string;
  tableEndpoint: URL;
}

/** Parses a connection string; throws naming what is missing (never echoes the key). */
export function parseConnectionString(text: string): StorageAccount {
  const parts = new Map<string, string>();
  for (const piece of text.split(';')) {
    const i = piece.indexOf('=');
    if (i <= 0) continue;
    parts.set(piece.slice(0, i).trim().toLowerCase(), piece.slice(i + 1).trim());
  }
  if ((parts.get('usedevelopmentstorage') ?? '').toLowerCase() === 'true') {
    return developmentAccount({ blob: 10000, queue: 10001, table: 10002 });
  }
  const table = parts.get('tableendpoint');
  if (table) return { development: false, connectionString: text, tableEndpoint: new URL(table) };
  const account = parts.get('accountname');
  if (account) {
    const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
    const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
    return { development: false, connectionString: text, tableEndpoint: new URL(`${protocol}://${account}.table.${suffix}`) };
  }
  throw new Error('AzureWebJobsStorage must be "UseDevelopmentStorage=true" or a connection string with TableEndpoint or AccountName');
}

/** Connection string for the emulator's well-known account on the given loopback ports. */
export function developmentAccount(ports: { blob: number; queue: number; table: number }, host = '127.0.0.1'): StorageAccount {
  const base = `http://${host}`;
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=${base}:${ports.blob}/${DEV_ACCOUNT};QueueEndpoint=${base}:${ports.queue}/${DEV_ACCOUNT};` +
    `TableEndpoint=${base}:${ports.table}/${DEV_ACCOUNT};`;
  return { development: true, connectionString, tableEndpoint: new URL(`${base}:${ports.table}/${DEV_ACCOUNT}`) };
}
