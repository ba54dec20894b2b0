/**
 * The broker's client registrations at MCP servers' authorization servers, one row per issuer in the
 * authorizations table (PartitionKey = SHA-256 of the issuer, RowKey "mcp-registration"). A client
 * secret is sealed, bound to the issuer.
 */
import type { TableClient } from '@azure/data-tables';
import { hashState } from '../crypto/tokens';
import { BrokerError } from '../domain/errors';
import type { Sealer } from './sealer';
import { isStatus } from './tables';

const ROW_KEY = 'mcp-registration';

export interface ClientRegistration {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** How the client authenticates at the token endpoint ('none' for a metadata-document client). */
  tokenEndpointAuthMethod: 'none' | 'client_secret_basic' | 'client_secret_post';
  via: 'metadata_document' | 'dynamic_registration' | 'pre_registered';
  redirectUris: string[];
}

/** The stored registrations, one per issuer. */
export interface RegistrationStore {
  get(issuer: string): Promise<ClientRegistration | undefined>;
  /** Stores it unless one exists already (another instance won): answers the one stored. */
  put(registration: ClientRegistration): Promise<ClientRegistration>;
}


interface RegistrationEntity {
  partitionKey: string;
  rowKey: string;
  issuer: string;
  clientId: string;
  tokenEndpointAuthMethod: string;
  via: string;
  redirectUris: string;
  clientSecret?: string;
}

export class McpRegistrationsRepository implements RegistrationStore {
  constructor(private readonly table: TableClient, private readonly sealer: Sealer) {}

  async get(issuer: string): Promise<ClientRegistration | undefined> {
    try {
      const entity = await this.table.getEntity<RegistrationEntity>(hashState(issuer), ROW_KEY);
      return {
        issuer: entity.issuer,
        clientId: entity.clientId,
        tokenEndpointAuthMethod: entity.tokenEndpointAuthMethod as ClientRegistration['tokenEndpointAuthMethod'],
        via: entity.via as ClientRegistration['via'],
        redirectUris: JSON.parse(entity.redirectUris) as string[],
        ...(entity.clientSecret ? { clientSecret: await this.sealer.open<string>(entity.clientSecret, issuer) } : {}),
      };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw storageError(error);
    }
  }

  async put(registration: ClientRegistration): Promise<ClientRegistration> {
    const entity: RegistrationEntity = {
      partitionKey: hashState(registration.issuer),
      rowKey: ROW_KEY,
      issuer: registration.issuer,
      clientId: registration.clientId,
      tokenEndpointAuthMethod: registration.tokenEndpointAuthMethod,
      via: registration.via,
      redirectUris: JSON.stringify(registration.redirectUris),
      ...(registration.clientSecret ? { clientSecret: (await this.sealer.seal(registration.clientSecret, registration.issuer)).envelope } : {}),
    };
    try {
      await this.table.createEntity(entity);
      return registration;
    } catch (error) {
      if (!isStatus(error, 409)) throw storageError(error);
    }
    // Another instance registered first: use its registration when it covers this redirect URI.
    const existing = await this.get(registration.issuer);
    if (existing && registration.redirectUris.every((uri) => existing.redirectUris.includes(uri))) return existing;
    await this.table.upsertEntity(entity, 'Replace').catch((error: unknown) => {
      throw storageError(error);
    });
    return registration;
  }
}

function storageError(error: unknown): BrokerError {
  return new BrokerError('STORAGE_UNAVAILABLE', 'table storage request failed', { cause: error, transient: true });
}
