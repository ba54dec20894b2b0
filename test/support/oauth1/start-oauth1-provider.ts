import { spawn } from 'node:child_process';
import path from 'node:path';
import { readStartLine, stopChild } from '../child-process';

/** A consumer registered at the test provider. */
export interface OAuth1TestClient {
  consumerKey: string;
  /** For HMAC-SHA1, HMAC-SHA256 and PLAINTEXT. */
  consumerSecret?: string;
  /** PEM public key, for RSA-SHA1. */
  rsaPublicKey?: string;
}

export type OAuth1TestSignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256' | 'RSA-SHA1' | 'PLAINTEXT';

export interface OAuth1ProviderOptions {
  /**
   * oauthlib's default checks apply: consumer keys are 20–30 letters/digits, nonces likewise,
   * timestamps within 600 s, nonces single use.
   */
  clients: OAuth1TestClient[];
  signatureMethods?: OAuth1TestSignatureMethod[];
}

/** One request the provider saw; no secrets. */
export interface OAuth1LogEntry {
  at: string;
  method: string;
  path: string;
  status: number;
  outcome: 'ok' | 'refused' | 'fault' | 'page' | 'approved' | 'denied';
  oauthIn: 'header' | 'query' | 'body' | 'none';
}

/** Served instead of the endpoint's answer, `times` times (default 1); `null` clears it. */
export interface OAuth1EndpointFault {
  status?: number;
  body?: string;
  contentType?: string;
  retryAfter?: string | number;
  times?: number;
  /** Hold the request for 30 s without answering. */
  hang?: boolean;
}

export interface OAuth1ProviderHandle {
  baseUrl: string;
  port: number;
  requestTokenUrl: string;
  authorizationUrl: string;
  accessTokenUrl: string;
  /** `baseUrl + pathname` (pathname starts with `/`). */
  url(pathname: string): string;
  stop(): Promise<void>;
  log(): Promise<OAuth1LogEntry[]>;
  clearLog(): Promise<void>;
  /** The provider revokes these token credentials; resolves true when they existed. */
  revokeToken(oauthToken: string): Promise<boolean>;
  setFault(faults: {
    request_token?: OAuth1EndpointFault | null;
    access_token?: OAuth1EndpointFault | null;
    resource?: OAuth1EndpointFault | null;
  }): Promise<void>;
}

const SERVER_SCRIPT = path.join(__dirname, 'oauth1_provider.py');
const PYTHON = '/usr/bin/python3';
const START_TIMEOUT_MS = 20_000;

/**
 * Starts the oauthlib-based provider in a child process on a free loopback port and resolves once
 * it listens. The caller must `stop()` it (afterAll).
 */
export async function startOAuth1Provider(options: OAuth1ProviderOptions): Promise<OAuth1ProviderHandle> {
  const child = spawn(PYTHON, [SERVER_SCRIPT, JSON.stringify({ port: 0, ...options })], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const { port, baseUrl } = await readStartLine<{ port: number; baseUrl: string }>(child, 'oauth1 provider', START_TIMEOUT_MS, () => stderr);
  const url = (pathname: string) => `${baseUrl}${pathname}`;

  return {
    baseUrl,
    port,
    requestTokenUrl: url('/oauth/request_token'),
    authorizationUrl: url('/oauth/authorize'),
    accessTokenUrl: url('/oauth/access_token'),
    url,
    stop: () => stopChild(child),
    log: async () => (await (await fetch(url('/__log'))).json()) as OAuth1LogEntry[],
    clearLog: async () => {
      await fetch(url('/__log'), { method: 'DELETE' });
    },
    revokeToken: async (oauthToken) => {
      const response = await fetch(url('/__revoke'), { method: 'POST', body: JSON.stringify({ oauthToken }) });
      return ((await response.json()) as { revoked: boolean }).revoked;
    },
    setFault: async (faults) => {
      const response = await fetch(url('/__faults'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      if (response.status !== 200) throw new Error(`setFault answered ${response.status}`);
    },
  };
}

/**
 * Plays the resource owner: opens the authorization page as a browser would, then submits its
 * Approve or Deny button. Resolves with the redirect `Location` (the `oauth_callback` with
 * `oauth_token`/`oauth_verifier` or `denied`).
 */
export async function approveAuthorization(authorizationUrl: string, { approve }: { approve: boolean }): Promise<string> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`authorization page answered ${page.status}`);
  const token = /name="oauth_token" value="([^"]*)"/.exec(html)?.[1];
  if (token === undefined) throw new Error('authorization page has no oauth_token field');
  const decision = await fetch(new URL('/oauth/authorize', authorizationUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ oauth_token: decodeHtml(token), decision: approve ? 'approve' : 'deny' }).toString(),
  });
  await decision.arrayBuffer();
  const location = decision.headers.get('location');
  if (decision.status !== 302 || !location) throw new Error(`authorization decision answered ${decision.status}`);
  return location;
}

function decodeHtml(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

