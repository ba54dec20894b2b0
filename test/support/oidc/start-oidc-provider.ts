import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { readStartLine, stopChild } from '../child-process';

/** A client registered at the test provider (oidc-provider client metadata, snake_case). */
export interface OidcTestClient {
  client_id: string;
  /** Absent for a public client (`none`). */
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  redirect_uris: string[];
  grant_types?: string[];
  response_types?: string[];
  /** Space-separated scopes the client may request (client credentials grant). */
  scope?: string;
  /** Access tokens for this client are DPoP-bound; token requests without a proof fail. */
  dpop_bound_access_tokens?: boolean;
}

export interface OidcProviderOptions {
  clients: OidcTestClient[];
  accessTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  rotateRefreshToken?: boolean;
  scopes?: string[];
  /** Open dynamic client registration (RFC 7591). */
  registration?: boolean;
  /** RFC 8707 resource servers: resource URL → the scopes its tokens may carry (space-separated). */
  resourceServers?: Record<string, string>;
  /** Token answers leave out expires_in. */
  omitExpiresIn?: boolean;
  /** Access tokens are RFC 9068 JWTs for this resource indicator (they then cannot call /api/*). */
  jwtAccessTokenResource?: string;
  /** Authorization requests only through PAR (RFC 9126). */
  requirePar?: boolean;
  /** DPoP proofs need a server-provided nonce (RFC 9449 §8). */
  requireDpopNonce?: boolean;
}

/** One token-endpoint request as the provider saw it; tokens only as 16-hex SHA-256 fingerprints. */
export interface TokenLogEntry {
  at: string;
  outcome: string;
  status?: number;
  clientId?: string;
  grantType?: string;
  refreshTokenFingerprint?: string;
  issuedRefreshTokenFingerprint?: string;
  accessTokenFingerprint?: string;
  codeFingerprint?: string;
  deviceCodeFingerprint?: string;
  codeVerifierFingerprint?: string;
  idTokenFingerprint?: string;
  /** RFC 8707 `resource` the token request carried. */
  resource?: string;
  /** For a `fault:*-after-answer` entry: what the provider answered before the answer was lost. */
  providerOutcome?: string;
}

export interface RevocationLogEntry {
  at: string;
  outcome: string;
  status?: number;
  clientId?: string;
  tokenFingerprint?: string;
  tokenTypeHint?: string;
}

export interface ResourceLogEntry {
  at: string;
  method: string;
  path: string;
  authorized: boolean;
  tokenFingerprint?: string;
}

/** A fault served instead of the endpoint's answer, `times` times (default 1); `null` clears it. */
export interface EndpointFault {
  status?: number;
  times?: number;
  /** Never answer (until the client gives up or the server stops). */
  hang?: boolean;
  /** Destroy the connection without answering (the client sees a reset). */
  reset?: boolean;
  /** With `hang` or `reset`: the provider processes the request first (tokens really rotate), then the answer is lost. */
  afterAnswer?: boolean;
  /** Sent as the Retry-After header value, verbatim. */
  retryAfter?: string | number;
  body?: string;
  contentType?: string;
  /**
   * Answer correctly, but only after this many milliseconds (a slow provider); a request whose
   * client disconnected meanwhile is not handled (logged `fault:abandoned-by-client`).
   */
  delayMs?: number;
}

export interface OidcProviderHandle {
  issuer: string;
  port: number;
  url(pathname: string): string;
  stop(): Promise<void>;
  tokenLog(): Promise<TokenLogEntry[]>;
  revocationLog(): Promise<RevocationLogEntry[]>;
  resourceLog(): Promise<ResourceLogEntry[]>;
  clearLog(): Promise<void>;
  /** `resource`: the resource endpoints reject a valid bearer token `times` times (status ignored: always 401). */
  /** Faults still armed, with their remaining `times`. */
  faults(): Promise<Record<string, EndpointFault>>;
  setFault(faults: { token?: EndpointFault | null; revocation?: EndpointFault | null; resource?: EndpointFault | null }): Promise<void>;
}

const SERVER_SCRIPT = path.join(__dirname, 'oidc-server.mjs');
const START_TIMEOUT_MS = 20_000;

/** Same fingerprint the server logs, so tests can match a token they hold against the log. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/**
 * Starts panva/oidc-provider in a child process on a free loopback port and resolves once it listens.
 * The caller must `stop()` it (afterAll).
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderHandle> {
  const child = spawn(process.execPath, [SERVER_SCRIPT, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });

  const { port, issuer } = await readStartLine<{ port: number; issuer: string }>(child, 'oidc-provider', START_TIMEOUT_MS, () => stderr);
  const url = (pathname: string) => new URL(pathname, issuer).toString();
  const getLog = async () => {
    const response = await fetch(url('/__log'));
    return (await response.json()) as { token: TokenLogEntry[]; revocation: RevocationLogEntry[]; resource: ResourceLogEntry[] };
  };

  return {
    issuer,
    port,
    url,
    stop: () => stopChild(child),
    tokenLog: async () => (await getLog()).token,
    revocationLog: async () => (await getLog()).revocation,
    resourceLog: async () => (await getLog()).resource,
    clearLog: async () => {
      await fetch(url('/__log'), { method: 'DELETE' });
    },
    setFault: async (faults) => {
      const response = await fetch(url('/__faults'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      if (response.status !== 200) throw new Error(`setFault answered ${response.status}`);
    },
    faults: async () => {
      const response = await fetch(url('/__faults'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return (await response.json()) as Record<string, EndpointFault>;
    },
  };
}

