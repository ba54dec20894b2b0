/**
 * `onExistingAccount: "update"`: when an exchange names an upstream account (issuer + subject) that
 * another connection of the same client, end user and provider already holds, the new credentials
 * go onto that connection (same id, new tokens) and the new one ends `merged` with `mergedInto`.
 *
 * At least once, several hosts: the new connection's row is written first (status `merged`, the
 * credentials sealed to it), so a re-run of the exchange finds them there instead of presenting the
 * single-use code again; the holder takes them only while its credentials are older than the grant
 * (a re-run after a later refresh of the holder changes nothing); then the new row's copy is erased.
 * Every write is ETag-checked (saveWithRetry). A holder that stopped qualifying in between (revoked,
 * another account) leaves the new connection connected by itself, as `add` would have.
 *
 * A session-bound connection (`bindingChallenge`) is not merged by its exchange: its credentials wait
 * on its own row, `awaiting_confirmation`, and step 1 is the confirmation itself (POST …/complete
 * with the right code and verifier, markConfirmedMerging). A refused confirmation erases them there,
 * so the holder never sees anything of a grant its client did not confirm.
 */
import { connectedStatus, isSameAccount, type Connection, type ExpirySource, type UpstreamAccount } from '../domain/connection';
import { isRefreshable, watchdogDueAt } from '../domain/refresh-policy';
import { raiseOrStart } from '../durable/client';
import { maintainPhaseInput } from '../durable/contract';
import { Events } from '../durable/names';
import type { Credentials } from '../storage/credentials';
import type { StoredConnection } from '../storage/connections-repo';
import type { Runtime } from './runtime';
import { saveWithRetry } from './save';

/** Connections an account can be merged into: they hold (or held, until a refresh failed) this account's grant. */
const HOLDER_STATUSES: ReadonlySet<Connection['status']> = new Set(['connected', 'refreshing', 'reauth_required']);
/** One end user rarely has many connections to one provider; a bounded look suffices. */
const MAX_CANDIDATES = 200;

/** What the exchange obtained, ready to be stored on either connection. */
export interface Grant {
  credentials: Credentials;
  scopes: string[];
  expiresAt: string | null;
  expiresAtSource?: ExpirySource;
  account: UpstreamAccount;
  issuedAt: string;
}

/** The oldest other connection of this end user and provider that holds `account`, when the connection asked for `update`. */
export async function findAccountHolder(runtime: Runtime, connection: Connection, account: UpstreamAccount | undefined): Promise<StoredConnection | undefined> {
  if (connection.onExistingAccount !== 'update' || !account || connection.endUserId === undefined) return undefined;
  // Matched on the row's account itself, not the filter columns: rows written before those existed count too.
  const candidates: Connection[] = [];
  let continuation: string | undefined;
  do {
    const page = await runtime.connections.list(connection.clientId, { provider: connection.provider, endUserId: connection.endUserId }, 100, continuation);
    candidates.push(...page.items.filter((c) => isHolder(c, connection, account)));
    continuation = page.continuation;
  } while (continuation && candidates.length < MAX_CANDIDATES);
  candidates.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.connectionId.localeCompare(b.connectionId));
  for (const candidate of candidates) {
    const stored = await runtime.connections.get(candidate.clientId, candidate.connectionId);
    if (stored && isHolder(stored.connection, connection, account)) return stored;
  }
  return undefined;
}

function isHolder(candidate: Connection, connection: Connection, account: UpstreamAccount): boolean {
  return (
    candidate.connectionId !== connection.connectionId &&
    candidate.provider === connection.provider &&
    candidate.endUserId === connection.endUserId &&
    HOLDER_STATUSES.has(candidate.status) &&
    isSameAccount(candidate.account, account)
  );
}

/**
 * Step 1: the new connection records where its credentials go, and keeps them sealed until they are
 * there. Undefined when the row moved on (another attempt, a revocation).
 */
export async function markMerging(
  runtime: Runtime,
  stored: StoredConnection,
  authorizationId: string,
  holder: StoredConnection,
  grant: Grant,
): Promise<StoredConnection | undefined> {
  return saveWithRetry(runtime, stored, (connection) => {
    if (connection.authorizationId !== authorizationId || connection.status !== 'awaiting_callback') return undefined;
    return {
      next: {
        ...connection,
        status: 'merged',
        mergedInto: holder.connection.connectionId,
        scopes: grant.scopes,
        account: grant.account,
        expiresAt: grant.expiresAt,
        expiresAtSource: grant.expiresAtSource,
        credentialsVersion: connection.credentialsVersion + 1,
        updatedAt: grant.issuedAt,
        authorizationExpiresAt: undefined,
        error: undefined,
      },
      change: { credentials: grant.credentials, issuedAt: grant.issuedAt },
    };
  });
}

/**
 * Step 1 for a session-bound connection, at its confirmation: its credentials are already sealed on
 * its row (`awaiting_confirmation`, only while the completion code it was issued is unused); this one
 * write consumes that code and names the holder. The grant counts as issued at the confirmation, so a
 * holder that refreshed while the confirmation was pending still takes it.
 */
export async function markConfirmedMerging(runtime: Runtime, stored: StoredConnection, codeHash: string, holder: StoredConnection, completedAt: string): Promise<StoredConnection | undefined> {
  return saveWithRetry(runtime, stored, (connection) => {
    const binding = connection.binding;
    if (connection.status !== 'awaiting_confirmation' || !binding || binding.codeHash !== codeHash) return undefined;
    return {
      next: { ...connection, status: 'merged', mergedInto: holder.connection.connectionId, updatedAt: completedAt, binding: { ...binding, completedAt } },
      change: { issuedAt: completedAt },
    };
  });
}

export type MergeOutcome = { kind: 'merged'; holder: StoredConnection } | { kind: 'kept'; connection: StoredConnection } | { kind: 'gone' };

/**
 * Steps 2 and 3, also what a re-run of the exchange resumes: the holder takes the credentials the
 * merged row keeps, then the merged row's copy is erased. When the holder no longer qualifies, the
 * merged row becomes a connection of its own instead.
 */
export async function completeMerge(runtime: Runtime, merged: StoredConnection, refreshMarginMs: number): Promise<MergeOutcome> {
  const source = merged.connection;
  const credentials = await runtime.connections.openCredentials(merged);
  const holderId = source.mergedInto as string;
  const current = await runtime.connections.get(source.clientId, holderId);
  const issuedAt = merged.issuedAt ?? source.updatedAt;
  if (!credentials) return current ? { kind: 'merged', holder: current } : { kind: 'gone' };
  const account = source.account as UpstreamAccount;

  let holder: StoredConnection | undefined;
  let alreadyThere = false;
  if (current) {
    const refreshable = refreshableWith(runtime, source, credentials);
    holder = await saveWithRetry(runtime, current, (connection, row) => {
      if (!isHolder(connection, source, account)) return undefined;
      // A re-run after the holder took these credentials (or refreshed since): nothing to write.
      if (row.issuedAt !== null && row.issuedAt >= issuedAt) {
        alreadyThere = true;
        return undefined;
      }
      return {
        next: {
          ...connection,
          status: 'connected',
          scopes: source.scopes,
          expiresAt: source.expiresAt,
          expiresAtSource: source.expiresAtSource,
          account,
          refreshAttempts: undefined,
          error: undefined,
          updatedAt: issuedAt,
          credentialsVersion: connection.credentialsVersion + 1,
          refreshDueAt: watchdogDueAt(issuedAt, source.expiresAt, refreshable, refreshMarginMs),
        },
        change: { credentials, issuedAt },
      };
    });
    // Read back either way: saveWithRetry's answer carries the sealed credentials it started from.
    if (holder || alreadyThere) holder = await runtime.connections.get(source.clientId, holderId);
  }

  if (!holder) return keepAsOwn(runtime, merged, refreshMarginMs, credentials);
  await saveWithRetry(runtime, merged, (connection) =>
    connection.status !== 'merged' ? undefined : { next: { ...connection, updatedAt: issuedAt }, change: { credentials: null, issuedAt: null } },
  );
  runtime.tokens.forget(source.clientId, holderId);
  return { kind: 'merged', holder };
}

/** The holder went away between the look and the write: the new connection stands on its own. */
async function keepAsOwn(runtime: Runtime, merged: StoredConnection, refreshMarginMs: number, credentials: Credentials): Promise<MergeOutcome> {
  const refreshable = refreshableWith(runtime, merged.connection, credentials);
  const kept = await saveWithRetry(runtime, merged, (connection) => {
    if (connection.status !== 'merged') return undefined;
    const { mergedInto: _none, ...rest } = connection;
    const issuedAt = merged.issuedAt ?? connection.updatedAt;
    return {
      next: { ...rest, status: connectedStatus(connection), refreshDueAt: watchdogDueAt(issuedAt, connection.expiresAt, refreshable, refreshMarginMs) },
      change: {},
    };
  });
  return kept ? { kind: 'kept', connection: kept } : { kind: 'gone' };
}

export function refreshableWith(runtime: Runtime, connection: Connection, credentials: Credentials | undefined): boolean {
  return isRefreshable(runtime.providers.get(connection.provider), credentials, connection.expiresAt);
}

/**
 * The holder's orchestration learns of its new credentials: a running maintain loop gets a refresh
 * event (its refresh activity then finds the newer version and reschedules from it without calling
 * the provider); a stopped one (a long-lived token, or `reauth_required`) starts its maintain phase
 * again. Lost, it is left to the watchdog, which finds the row's refresh due time passing.
 */
async function wakeHolder(runtime: Runtime, holder: StoredConnection, refreshable: boolean): Promise<void> {
  const c = holder.connection;
  if (!refreshable || c.expiresAt === null) return;
  // "Seen" is the version before the merge: a loop still on it reschedules from the new one, while a
  // loop already past it (a re-run of this activity) ignores the event instead of refreshing again.
  await raiseOrStart(runtime.durable, c.instanceId, Events.Refresh, { seenVersion: c.credentialsVersion - 1 }, () =>
    maintainPhaseInput(c, {
      credentialsVersion: c.credentialsVersion,
      issuedAt: holder.issuedAt ?? c.updatedAt,
      expiresAt: c.expiresAt as string,
      cycle: 0,
      refreshMarginMs: runtime.settings.refreshMarginMs,
    }),
  ).catch(() => undefined);
}

/**
 * The holder's side of a finished merge: its event log records the grant it took (once per attempt,
 * `about`), and its loop learns of it. Read from the holder's own credentials: a re-run finds the
 * merged row's copy already erased.
 */
export async function announceMergedHolder(runtime: Runtime, holder: StoredConnection, mergedFrom: Connection, at: string): Promise<void> {
  const c = holder.connection;
  const refreshable = refreshableWith(runtime, c, await runtime.connections.openCredentials(holder));
  await runtime.audit.record({
    connectionId: c.connectionId,
    clientId: c.clientId,
    type: 'exchanged',
    at,
    ...(mergedFrom.authorizationId ? { about: mergedFrom.authorizationId } : {}),
    details: { credentialsVersion: c.credentialsVersion, expiresAt: c.expiresAt, scopes: c.scopes, refreshable, mergedFrom: mergedFrom.connectionId },
  });
  await wakeHolder(runtime, holder, refreshable);
}

/**
 * A merge whose orchestration stopped (failed or terminated) before the holder took the credentials
 * the merged row keeps: the watchdog finishes it. False when there is nothing left to move.
 */
export async function finishStrandedMerge(runtime: Runtime, merged: StoredConnection): Promise<boolean> {
  if (!(await runtime.connections.openCredentials(merged))) return false;
  const outcome = await completeMerge(runtime, merged, runtime.settings.refreshMarginMs);
  // 'kept' (the holder went away): the row is now connected on its own, and the next sweep restarts its loop.
  if (outcome.kind === 'merged') await announceMergedHolder(runtime, outcome.holder, merged.connection, merged.issuedAt ?? merged.connection.updatedAt);
  return outcome.kind !== 'gone';
}
