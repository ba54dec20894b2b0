/**
 * Helpers for the fault-injection and bad-input end-to-end tests: a snapshot of everything a bad
 * request could change, raw HTTP requests that fetch would normalise, and the refresh-token audit
 * over the provider's token log.
 */
import http from 'node:http';
import type { TokenLogEntry } from '../../support/oidc/start-oidc-provider';
import type { HttpAnswer } from './broker-host';
import { CLIENT_KEY, OTHER_CLIENT_KEY, World } from './world';

interface ListedConnection {
  connectionId: string;
  status: string;
  updatedAt: string;
  expiresAt: string | null;
  lastRefreshedAt: string | null;
}

/** Everything observable that a refused request must leave as it was. */
export interface WorldSnapshot {
  connections: Record<string, Array<Pick<ListedConnection, 'connectionId' | 'status' | 'updatedAt' | 'expiresAt' | 'lastRefreshedAt'>>>;
  providerRequests: { token: number; revocation: number; resource: number; oauth1: number };
}

async function listAll(world: World, key: string): Promise<ListedConnection[]> {
  const answer = await world.broker.request('GET', '/api/connections?top=1000', { key });
  if (answer.status !== 200) throw new Error(`list answered ${answer.status}: ${answer.text}`);
  return (answer.json.items as ListedConnection[])
    .map(({ connectionId, status, updatedAt, expiresAt, lastRefreshedAt }) => ({ connectionId, status, updatedAt, expiresAt, lastRefreshedAt }))
    .sort((a, b) => a.connectionId.localeCompare(b.connectionId));
}

/** Both clients' connection lists (status and times) and the size of every provider request log. */
export async function snapshotWorld(world: World): Promise<WorldSnapshot> {
  const [app1, app2, log, oauth1] = await Promise.all([
    listAll(world, CLIENT_KEY),
    listAll(world, OTHER_CLIENT_KEY),
    fetch(world.oidc.url('/__log')).then((r) => r.json() as Promise<Record<'token' | 'revocation' | 'resource', unknown[]>>),
    world.oauth1.log(),
  ]);
  return {
    connections: { app1, app2 },
    providerRequests: { token: log.token.length, revocation: log.revocation.length, resource: log.resource.length, oauth1: oauth1.length },
  };
}

/**
 * Sends a request with the path bytes exactly as given (fetch would resolve `..` and turn `\` into
 * `/`), so the broker sees what a hostile client can put on the wire. A `body` goes out chunked,
 * without Content-Length, so only the bytes themselves can tell its size.
 */
export function rawRequest(world: World, method: string, rawPath: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: world.broker.port, method, path: rawPath, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({ status: response.statusCode ?? 0, headers: responseHeaders, text, json });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    if (body !== undefined) {
      request.setHeader('transfer-encoding', 'chunked');
      for (let i = 0; i < body.length; i += 16 * 1024) request.write(body.slice(i, i + 16 * 1024));
    }
    request.end();
  });
}

/** What the provider's token log says about refresh-token use by one OAuth client. */
export interface RefreshTokenAudit {
  /** Refresh requests the provider refused with invalid_grant. */
  invalidGrants: TokenLogEntry[];
  /** Fingerprints presented in more than one successful refresh (a rotated token used twice). */
  reusedSuccessfully: string[];
  /** Successful refreshes that presented a token the provider never issued in a logged answer. */
  unknownPresented: string[];
  successfulRefreshes: number;
}

export function auditRefreshTokens(log: TokenLogEntry[], clientId: string): RefreshTokenAudit {
  const mine = log.filter((e) => e.clientId === clientId);
  const refreshes = mine.filter((e) => e.grantType === 'refresh_token');
  const ok = refreshes.filter((e) => e.outcome === 'ok');
  const seen = new Map<string, number>();
  for (const entry of ok) seen.set(entry.refreshTokenFingerprint ?? '', (seen.get(entry.refreshTokenFingerprint ?? '') ?? 0) + 1);
  // A token issued in an answer that was lost (fault:*-after-answer) was issued all the same.
  const issued = new Set(mine.map((e) => e.issuedRefreshTokenFingerprint).filter((f): f is string => Boolean(f)));
  return {
    invalidGrants: refreshes.filter((e) => e.outcome === 'invalid_grant'),
    reusedSuccessfully: [...seen].filter(([, count]) => count > 1).map(([fingerprint]) => fingerprint),
    unknownPresented: ok.map((e) => e.refreshTokenFingerprint ?? '').filter((f) => !issued.has(f)),
    successfulRefreshes: ok.length,
  };
}

/** JSON body of `size` bytes: a valid start request padded with a long metadata string. */
export function oversizedStartBody(size: number): string {
  const head = '{"provider":"oidc","metadata":{"pad":"';
  const tail = '"}}';
  return head + 'x'.repeat(size - head.length - tail.length) + tail;
}
