/**
 * Reads every table entity, queue message and blob of a storage account and returns every token-like
 * string in it, fingerprinted the way the test providers fingerprint what they issue (16 hex of
 * SHA-256), so a test can prove no issued secret is stored in plain text without the providers
 * ever revealing the secrets themselves.
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { tokenFingerprint as fingerprint } from '../../support/oidc/start-oidc-provider';

/** The providers' fingerprint (16 hex of SHA-256), so scans and provider logs compare directly. */
export { tokenFingerprint as fingerprint } from '../../support/oidc/start-oidc-provider';

export interface ScanResult {
  fingerprints: Set<string>;
  texts: number;
  tables: string[];
  queues: string[];
  containers: string[];
}

export async function scanStorage(connectionString: string): Promise<ScanResult> {
  const texts: string[] = [];
  const tables: string[] = [];
  const queues: string[] = [];
  const containers: string[] = [];
  const options = { allowInsecureConnection: true };

  const tableService = TableServiceClient.fromConnectionString(connectionString, options);
  for await (const table of tableService.listTables()) {
    if (!table.name) continue;
    tables.push(table.name);
    const client = TableClient.fromConnectionString(connectionString, table.name, options);
    for await (const entity of client.listEntities()) texts.push(JSON.stringify(entity));
  }

  const queueService = QueueServiceClient.fromConnectionString(connectionString);
  for await (const queue of queueService.listQueues()) {
    queues.push(queue.name);
    const client = queueService.getQueueClient(queue.name);
    const peeked = await client.peekMessages({ numberOfMessages: 32 });
    for (const message of peeked.peekedMessageItems) {
      texts.push(message.messageText, Buffer.from(message.messageText, 'base64').toString('utf8'));
    }
  }

  const blobService = BlobServiceClient.fromConnectionString(connectionString);
  for await (const container of blobService.listContainers()) {
    containers.push(container.name);
    const client = blobService.getContainerClient(container.name);
    for await (const blob of client.listBlobsFlat()) {
      const content = await client.getBlobClient(blob.name).downloadToBuffer();
      texts.push(content.toString('utf8'));
    }
  }

  const fingerprints = new Set<string>();
  for (const text of texts) {
    // Every maximal run of token characters, plus URL-decoded forms (tokens inside query strings).
    const variants = [text];
    try {
      variants.push(decodeURIComponent(text));
    } catch {
      // not URL-encoded
    }
    for (const variant of variants) {
      for (const match of variant.matchAll(/[A-Za-z0-9._~+/=-]{8,}/g)) {
        fingerprints.add(fingerprint(match[0]));
        // Also each segment split on characters tokens rarely contain but JSON/URLs use.
        for (const part of match[0].split(/[.=+/]/)) if (part.length >= 8) fingerprints.add(fingerprint(part));
      }
    }
  }
  return { fingerprints, texts: texts.length, tables, queues, containers };
}

/**
 * Every stored row of a connection (any table, matched by RowKey) that still holds sealed
 * credentials: empty once the broker has erased them.
 */
export async function rowsHoldingCredentials(connectionString: string, connectionId: string): Promise<string[]> {
  return Object.keys(await sealedCredentials(connectionString, connectionId));
}

/**
 * The sealed credentials of every stored row of a connection, by `table/partition`: equal before and
 * after proves nothing was written onto them.
 */
export async function sealedCredentials(connectionString: string, connectionId: string): Promise<Record<string, string>> {
  const options = { allowInsecureConnection: true };
  const holding: Record<string, string> = {};
  let rowsSeen = 0;
  for await (const table of TableServiceClient.fromConnectionString(connectionString, options).listTables()) {
    if (!table.name) continue;
    const client = TableClient.fromConnectionString(connectionString, table.name, options);
    for await (const entity of client.listEntities<Record<string, unknown>>()) {
      if (entity.rowKey !== connectionId) continue;
      rowsSeen += 1;
      if (typeof entity.credentials === 'string' && entity.credentials !== '') holding[`${table.name}/${entity.partitionKey}`] = entity.credentials;
    }
  }
  // A scan that finds no row at all proves nothing about erasure.
  if (rowsSeen === 0) throw new Error(`no stored row for connection ${connectionId}`);
  return holding;
}
