/**
 * Pending authorization rows, one per attempt. PartitionKey = authorization id = SHA-256 of the state
 * (OAuth 2.0) or of the request token (OAuth 1.0a), so the callback finds the row from what the
 * browser brings while the row never holds the state itself. Secrets (PKCE verifier, request-token
 * secret, the authorization URL, the code; while an exchange moves the connection onto a successor
 * provider, the grant it replaces) are sealed, bound to the connection's instance id.
 *
 * A row holds secrets only while they are needed: once the attempt is settled (exchanged, denied,
 * failed, expired) it becomes a tombstone (ids, times, the callback's fingerprint; no secrets), so a
 * duplicate of the callback still gets the same answer and a late one still hears "expired". A
 * superseded attempt's row is deleted at once, and the watchdog deletes every row whose
 * authorization window ended `RETENTION_AFTER_EXPIRY_MS` ago.
 */
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { BrokerError } from '../domain/errors';
import type { Protocol } from '../domain/connection';
import type { AuthorizationSecrets, CallbackSecrets, Credentials } from './credentials';
import type { Sealer } from './sealer';
import { isStatus } from './tables';

const ROW_KEY = 'attempt';
/** How long after its window a row (a tombstone, or one nobody settled) is kept before the sweep deletes it. */
export const RETENTION_AFTER_EXPIRY_MS = 15 * 60_000;
/** Bounds the row: a flood of forged callbacks keeps only the latest fingerprints. */
const MAX_REJECTED_FINGERPRINTS = 20;
/**
 * Attempts with a callback this process recorded that it keeps (the oldest recorded is forgotten
 * first): an entry is wanted only until the exchange runs, seconds later, so this is room for a
 * burst of callbacks, at a few KB of sealed row each.
 */
export const RECORDED_ATTEMPTS_KEPT = 2_000;

interface AuthorizationEntity {
  partitionKey: string;
  rowKey: string;
  connectionId: string;
  clientId: string;
  /** Absent on rows written before instance ids were namespaced: the connection id. */
  instanceId?: string;
  provider: string;
  protocol: string;
  createdAt: string;
  expiresAt: string;
  returnTo?: string;
  /** Empty once the attempt is settled (a tombstone). */
  secrets: string;
  settledAt?: string;
  callbackOutcome?: string;
  callbackFingerprint?: string;
  callbackSecrets?: string;
  callbackError?: string;
  callbackErrorDescription?: string;
  callbackReceivedAt?: string;
  exchangedAt?: string;
  /** JSON list of fingerprints of callbacks the provider refused (forged or stale codes/verifiers). */
  rejectedFingerprints?: string;
  /** Sealed RetiringGrant while the exchange moves the connection onto a successor; empty once settled. */
  retiring?: string;
}

export interface AuthorizationAttempt {
  authorizationId: string;
  connectionId: string;
  clientId: string;
  /** The connection orchestration's instance id (also what the secrets are bound to). */
  instanceId: string;
  provider: string;
  protocol: Protocol;
  createdAt: string;
  expiresAt: string;
  returnTo?: string;
  callback?: {
    outcome: 'code' | 'denied';
    /** SHA-256 of the code/verifier received, to tell a duplicate from a replay. */
    fingerprint: string;
    error?: string;
    errorDescription?: string;
    receivedAt: string;
  };
  exchangedAt?: string;
  /** Fingerprints of callbacks the provider refused; the same one arriving again is refused at once. */
  rejectedFingerprints: string[];
  /** Set once the attempt was settled: the row is a tombstone and holds no secrets. */
  settledAt?: string;
  etag: string;
  sealedSecrets?: string;
  sealedCallback?: string;
  sealedRetiring?: string;
}

/** The grant an exchange onto a successor provider replaces, kept until it is revoked. */
export interface RetiringGrant {
  provider: string;
  credentials: Credentials;
}

export class AuthorizationsRepository {
  /** Each attempt as this process recorded its callback (with the new ETag), by authorization id. */
  private readonly recorded = new Map<string, AuthorizationAttempt>();

  constructor(
    private readonly table: TableClient,
    private readonly sealer: Sealer,
    private readonly recordedKept = RECORDED_ATTEMPTS_KEPT,
  ) {}

  async create(
    attempt: Omit<AuthorizationAttempt, 'etag' | 'sealedSecrets' | 'callback' | 'exchangedAt' | 'sealedCallback' | 'rejectedFingerprints' | 'settledAt'>,
    secrets: AuthorizationSecrets,
  ): Promise<void> {
    const { envelope } = await this.sealer.seal(secrets, attempt.instanceId);
    const entity: AuthorizationEntity = {
      partitionKey: attempt.authorizationId,
      rowKey: ROW_KEY,
      connectionId: attempt.connectionId,
      clientId: attempt.clientId,
      ...(attempt.instanceId !== attempt.connectionId ? { instanceId: attempt.instanceId } : {}),
      provider: attempt.provider,
      protocol: attempt.protocol,
      createdAt: attempt.createdAt,
      expiresAt: attempt.expiresAt,
      secrets: envelope,
      ...(attempt.returnTo ? { returnTo: attempt.returnTo } : {}),
    };
    try {
      await this.table.createEntity(entity);
    } catch (error) {
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not store the authorization attempt', { cause: error, transient: true });
    }
  }

  async get(authorizationId: string): Promise<AuthorizationAttempt | undefined> {
    try {
      return fromEntity(await this.table.getEntity<AuthorizationEntity>(authorizationId, ROW_KEY));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not read the authorization attempt', { cause: error, transient: true });
    }
  }

  /**
   * The attempt as this process recorded its callback, without a storage request; undefined when it
   * did not (or wrote the row since, or forgot it, or the authorization window ended). It may be
   * stale, as another process may have written since: only for a caller that has just read a row
   * telling it the attempt cannot have changed meanwhile (see the exchange). A promise although it
   * reads memory only: with telemetry on, every port method is one.
   */
  async lastRecorded(authorizationId: string, now: Date): Promise<AuthorizationAttempt | undefined> {
    const attempt = this.recorded.get(authorizationId);
    if (attempt && Date.parse(attempt.expiresAt) <= now.getTime()) this.recorded.delete(authorizationId);
    return this.recorded.get(authorizationId);
  }

  async openSecrets(attempt: AuthorizationAttempt): Promise<AuthorizationSecrets> {
    if (!attempt.sealedSecrets) throw new BrokerError('STATE_INVALID', 'this authorization attempt is already settled');
    return this.sealer.open<AuthorizationSecrets>(attempt.sealedSecrets, attempt.instanceId);
  }

  async openCallback(attempt: AuthorizationAttempt): Promise<CallbackSecrets | undefined> {
    if (!attempt.sealedCallback) return undefined;
    return this.sealer.open<CallbackSecrets>(attempt.sealedCallback, attempt.instanceId);
  }

  /**
   * Records the callback once. Returns 'recorded' for the first writer, or 'exists' when a callback
   * was already recorded (the caller compares fingerprints to tell a duplicate from a replay).
   */
  async recordCallback(
    attempt: AuthorizationAttempt,
    callback: NonNullable<AuthorizationAttempt['callback']>,
    secrets: CallbackSecrets | undefined,
  ): Promise<'recorded' | 'exists'> {
    if (attempt.callback) return 'exists';
    const patch: Partial<AuthorizationEntity> & { partitionKey: string; rowKey: string } = {
      partitionKey: attempt.authorizationId,
      rowKey: ROW_KEY,
      callbackOutcome: callback.outcome,
      callbackFingerprint: callback.fingerprint,
      callbackReceivedAt: callback.receivedAt,
    };
    if (callback.error) patch.callbackError = callback.error;
    if (callback.errorDescription) patch.callbackErrorDescription = callback.errorDescription;
    if (secrets) patch.callbackSecrets = (await this.sealer.seal(secrets, attempt.instanceId)).envelope;
    try {
      const { etag } = await this.table.updateEntity(patch, 'Merge', { etag: attempt.etag });
      // The row as a read would answer it right after this write.
      this.remember({ ...attempt, callback, sealedCallback: patch.callbackSecrets, etag: etag ?? '' }, Date.parse(callback.receivedAt));
      return 'recorded';
    } catch (error) {
      if (isStatus(error, 412)) {
        this.recorded.delete(attempt.authorizationId);
        return 'exists';
      }
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not record the callback', { cause: error, transient: true });
    }
  }

  /**
   * Forgets a callback the provider refused, so the genuine one can still be recorded, and remembers
   * its fingerprint so the same refused callback is turned away without another exchange. Returns
   * false when the row changed since it was read (the caller re-reads and decides again).
   */
  async releaseCallback(attempt: AuthorizationAttempt, fingerprint: string): Promise<boolean> {
    this.recorded.delete(attempt.authorizationId);
    const rejected = [...attempt.rejectedFingerprints.filter((f) => f !== fingerprint), fingerprint].slice(-MAX_REJECTED_FINGERPRINTS);
    const patch = {
      partitionKey: attempt.authorizationId,
      rowKey: ROW_KEY,
      callbackOutcome: '',
      callbackFingerprint: '',
      callbackSecrets: '',
      callbackError: '',
      callbackErrorDescription: '',
      callbackReceivedAt: '',
      rejectedFingerprints: JSON.stringify(rejected),
    };
    try {
      await this.table.updateEntity(patch, 'Merge', { etag: attempt.etag });
      return true;
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return false;
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not release the authorization attempt', { cause: error, transient: true });
    }
  }

  /**
   * Marks the code as used and leaves a tombstone: the sealed code and the attempt's secrets
   * (verifier, request-token secret, authorization URL) are erased at once, the fingerprint stays.
   */
  async markExchanged(attempt: AuthorizationAttempt, at: string): Promise<void> {
    this.recorded.delete(attempt.authorizationId);
    try {
      await this.table.updateEntity(
        { partitionKey: attempt.authorizationId, rowKey: ROW_KEY, exchangedAt: at, callbackSecrets: '', secrets: '', retiring: '', settledAt: at },
        'Merge',
      );
    } catch (error) {
      if (!isStatus(error, 404)) {
        throw new BrokerError('STORAGE_UNAVAILABLE', 'could not update the authorization attempt', { cause: error, transient: true });
      }
    }
  }

  /**
   * Keeps the grant this attempt's exchange is about to replace (a move onto a successor provider)
   * until the attempt is settled, so a run that stops after storing the new credentials leaves its
   * re-run something to revoke. An unconditional merge: a re-run writes the same.
   */
  async holdRetiring(attempt: AuthorizationAttempt, grant: RetiringGrant): Promise<void> {
    const { envelope } = await this.sealer.seal(grant, attempt.instanceId);
    // The copy this process recorded no longer matches the row.
    this.recorded.delete(attempt.authorizationId);
    try {
      await this.table.updateEntity({ partitionKey: attempt.authorizationId, rowKey: ROW_KEY, retiring: envelope }, 'Merge');
    } catch (error) {
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not update the authorization attempt', { cause: error, transient: true });
    }
  }

  async openRetiring(attempt: AuthorizationAttempt): Promise<RetiringGrant | undefined> {
    if (!attempt.sealedRetiring) return undefined;
    return this.sealer.open<RetiringGrant>(attempt.sealedRetiring, attempt.instanceId);
  }

  /** Turns a settled attempt's row into a tombstone: its sealed secrets and code are erased. */
  async retire(authorizationId: string, at: string): Promise<void> {
    this.recorded.delete(authorizationId);
    try {
      await this.table.updateEntity({ partitionKey: authorizationId, rowKey: ROW_KEY, secrets: '', callbackSecrets: '', retiring: '', settledAt: at }, 'Merge');
    } catch (error) {
      if (!isStatus(error, 404)) {
        throw new BrokerError('STORAGE_UNAVAILABLE', 'could not retire the authorization attempt', { cause: error, transient: true });
      }
    }
  }

  /**
   * Deletes up to `top` rows whose authorization window ended before `expiredBefore` (a cross-partition
   * query: every row is its own partition; the table holds only attempts in flight and recent tombstones).
   * Answers how many it deleted and whether more may remain.
   */
  async deleteExpired(expiredBefore: string, top: number): Promise<{ deleted: number; more: boolean }> {
    const iterator = this.table
      .listEntities<AuthorizationEntity>({ queryOptions: { filter: odata`expiresAt lt ${expiredBefore}`, select: ['PartitionKey'] } })
      .byPage({ maxPageSize: top });
    let page;
    try {
      page = await iterator.next();
    } catch (error) {
      throw new BrokerError('STORAGE_UNAVAILABLE', 'could not list expired authorization attempts', { cause: error, transient: true });
    }
    if (page.done) return { deleted: 0, more: false };
    for (const entity of page.value) await this.delete(entity.partitionKey);
    return { deleted: page.value.length, more: page.value.continuationToken !== undefined };
  }

  private remember(attempt: AuthorizationAttempt, nowMs: number): void {
    this.recorded.delete(attempt.authorizationId);
    if (!attempt.etag) return;
    this.recorded.set(attempt.authorizationId, attempt);
    // An entry whose exchange ran on another instance is never taken here: it goes once its window ends.
    for (const [id, oldest] of this.recorded) {
      if (this.recorded.size <= this.recordedKept && Date.parse(oldest.expiresAt) > nowMs) break;
      this.recorded.delete(id);
    }
  }

  async delete(authorizationId: string): Promise<void> {
    this.recorded.delete(authorizationId);
    try {
      await this.table.deleteEntity(authorizationId, ROW_KEY);
    } catch (error) {
      if (!isStatus(error, 404)) throw new BrokerError('STORAGE_UNAVAILABLE', 'could not delete the authorization attempt', { cause: error, transient: true });
    }
  }
}

function fromEntity(entity: TableEntityResult<AuthorizationEntity>): AuthorizationAttempt {
  return {
    authorizationId: entity.partitionKey,
    connectionId: entity.connectionId,
    clientId: entity.clientId,
    instanceId: entity.instanceId || entity.connectionId,
    provider: entity.provider,
    protocol: entity.protocol as Protocol,
    createdAt: entity.createdAt,
    expiresAt: entity.expiresAt,
    returnTo: entity.returnTo,
    callback: entity.callbackOutcome
      ? {
          outcome: entity.callbackOutcome as 'code' | 'denied',
          fingerprint: entity.callbackFingerprint ?? '',
          error: entity.callbackError,
          errorDescription: entity.callbackErrorDescription,
          receivedAt: entity.callbackReceivedAt ?? '',
        }
      : undefined,
    exchangedAt: entity.exchangedAt,
    rejectedFingerprints: parseFingerprints(entity.rejectedFingerprints),
    settledAt: entity.settledAt || undefined,
    etag: entity.etag,
    sealedSecrets: entity.secrets || undefined,
    sealedCallback: entity.callbackSecrets || undefined,
    sealedRetiring: entity.retiring || undefined,
  };
}

function parseFingerprints(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}
