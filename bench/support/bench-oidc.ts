/**
 * Starts the e2e test provider through bench/servers/oidc-server.mjs (same server, a store large
 * enough for thousands of connections) and returns the part of the e2e handle the benches use.
 */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { spawn } from 'node:child_process';
import type { OidcProviderOptions, TokenLogEntry } from '../../test/support/oidc/start-oidc-provider';
import { stopChild } from './children';

export interface BenchOidc {
  issuer: string;
  url(pathname: string): string;
  tokenLog(): Promise<TokenLogEntry[]>;
  stop(): Promise<void>;
}

const SCRIPT = path.join(__dirname, '..', 'servers', 'oidc-server.mjs');

export async function startBenchOidc(options: OidcProviderOptions): Promise<BenchOidc> {
  // stderr is ignored: oidc-provider prints its development-mode warnings there.
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const issuer = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('oidc-provider did not start in time'));
    }, 20_000);
    child.once('exit', (code) => reject(new Error(`oidc-provider exited (${code}) before listening`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      child.stdout?.resume();
      resolve((JSON.parse(line) as { issuer: string }).issuer);
    });
  });
  const url = (pathname: string) => new URL(pathname, issuer).toString();
  return {
    issuer,
    url,
    tokenLog: async () => ((await (await fetch(url('/__log'))).json()) as { token: TokenLogEntry[] }).token,
    stop: () => stopChild(child),
  };
}
