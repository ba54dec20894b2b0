/**
 * Starts the e2e test provider through bench/servers/oidc-server.mjs (same server, a store large
 * enough for thousands of connections) and returns the part of the e2e handle the benches use.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { OidcProviderOptions, TokenLogEntry } from '../../test/support/oidc/start-oidc-provider';
import { readStartLine, stopChild } from '../../test/support/child-process';

export interface BenchOidc {
  issuer: string;
  url(pathname: string): string;
  tokenLog(): Promise<TokenLogEntry[]>;
  stop(): Promise<void>;
}

const SCRIPT = path.join(__dirname, '..', 'servers', 'oidc-server.mjs');

/** `connectionScopes`: scopes `conn:r-0` … offered besides the usual ones (see bench/servers/oidc-server.mjs). */
export async function startBenchOidc(options: OidcProviderOptions & { connectionScopes?: number }): Promise<BenchOidc> {
  // stderr is ignored: oidc-provider prints its development-mode warnings there.
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const { issuer } = await readStartLine<{ issuer: string }>(child, 'oidc-provider', 20_000);
  const url = (pathname: string) => new URL(pathname, issuer).toString();
  return {
    issuer,
    url,
    tokenLog: async () => ((await (await fetch(url('/__log'))).json()) as { token: TokenLogEntry[] }).token,
    stop: () => stopChild(child),
  };
}
