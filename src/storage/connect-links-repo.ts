/**
 * Connect links, in the authorizations table (RowKey "link"): PartitionKey = SHA-256 of the link's
 * token, so the row never holds the token itself. Used once: the first start marks it (ETag), every
 * later use is refused.
 */
import type { TableClient } from '@azure/data-tables';
import { BrokerError } from '../domain/errors';
import { isStatus } from './tables';

const ROW_KEY = 'link';

export interface ConnectLink {
  linkId: string;
  clientId: string;
  endUserId: string;
  /** One provider (opened directly) or a choice. */
  providers: string[];
  scopes?: string[];
  returnTo?: string;
  bindingChallenge?: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
  connectionId?: string;
}

interface ConnectLinkEntity {
  partitionKey: string;
  rowKey: string;
  clientId: string;
  endUserId: string;
  providers: string;
  scopes?: string;
  returnTo?: string;
  bindingChallenge?: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
  connectionId?: string;
}

export class ConnectLinksRepository {
  constructor(private readonly table: TableClient) {}

  async create(link: ConnectLink): Promise<void> {
    const entity: ConnectLinkEntity = {
      partitionKey: link.linkId,
      rowKey: ROW_KEY,
      clientId: link.clientId,
      endUserId: link.endUserId,
      providers: JSON.stringify(link.providers),
      createdAt: link.createdAt,
      expiresAt: link.expiresAt,
      ...(link.scopes ? { scopes: JSON.stringify(link.scopes) } : {}),
      ...(link.returnTo ? { returnTo: link.returnTo } : {}),
      ...(link.bindingChallenge ? { bindingChallenge: link.bindingChallenge } : {}),
    };
    try {
      await this.table.createEntity(entity);
    } catch (error) {
      throw storageError(error);
    }
  }

  async get(linkId: string): Promise<(ConnectLink & { etag: string }) | undefined> {
    try {
      const e = await this.table.getEntity<ConnectLinkEntity>(linkId, ROW_KEY);
      return {
        linkId,
        clientId: e.clientId,
        endUserId: e.endUserId,
        providers: JSON.parse(e.providers) as string[],
        ...(e.scopes ? { scopes: JSON.parse(e.scopes) as string[] } : {}),
        ...(e.returnTo ? { returnTo: e.returnTo } : {}),
        ...(e.bindingChallenge ? { bindingChallenge: e.bindingChallenge } : {}),
        createdAt: e.createdAt,
        expiresAt: e.expiresAt,
        ...(e.usedAt ? { usedAt: e.usedAt } : {}),
        ...(e.connectionId ? { connectionId: e.connectionId } : {}),
        etag: e.etag,
      };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw storageError(error);
    }
  }

  /** Marks the link used, unless someone else did first (false). */
  async markUsed(link: { linkId: string; etag: string }, usedAt: string, connectionId: string): Promise<boolean> {
    try {
      await this.table.updateEntity({ partitionKey: link.linkId, rowKey: ROW_KEY, usedAt, connectionId }, 'Merge', { etag: link.etag });
      return true;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return false;
      throw storageError(error);
    }
  }
}

function storageError(error: unknown): BrokerError {
  return new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { cause: error, transient: true });
}
