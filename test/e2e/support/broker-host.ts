/**
 * Runs the compiled broker on the repository's own local host (devhost bin) as a child process, so
 * tests can SIGKILL and restart it. Every contract setting is passed through the environment (which
 * wins over any local.settings.json a developer may have).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../support/azurite';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
const DEVHOST_BIN = path.join(REPO_ROOT, 'devhost/bin/devhost.js');

export interface BrokerHostOptions {
  storage: string;
  settings: Record<string, string>;
  port?: number;
  /** The app folder to run (default: the repository; see broker-app.ts for a copy with its own host.json). */
  appDir?: string;
  /** Node options of the host process (the benches' `--cpu-prof`). */
  execArgv?: string[];
  /**
   * Keep only the host's last this many characters of output (the benches: a long run logs hundreds
   * of megabytes). Tests keep it all, since they search the whole log (for secrets, among others).
   */
  keepLogChars?: number;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface BrokerHost {
  url: string;
  port: number;
  logs(): string;
  request(method: string, route: string, options?: { key?: string; body?: unknown; headers?: Record<string, string>; redirect?: 'manual' | 'follow'; signal?: AbortSignal }): Promise<HttpAnswer>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBrokerHost(options: BrokerHostOptions): Promise<BrokerHost> {
  if (!existsSync(path.join(REPO_ROOT, 'dist/src/functions'))) {
    throw new Error('dist/ is missing: run `npm run build` before the end-to-end tests (npm test does).');
  }
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AzureWebJobsStorage: options.storage,
    BROKER_BASE_URL: url,
    BROKER_PROVIDERS_FILE: '',
    BROKER_PROVIDERS: '',
    KEY_VAULT_URL: '',
    BROKER_ALLOWED_RETURN_URLS: '',
    BROKER_WEBHOOK_URLS: '',
    BROKER_WEBHOOK_SECRETS: '',
    ...options.settings,
    PORT: String(port),
  };

  const launch = async () => {
    child = spawn(process.execPath, [...(options.execArgv ?? []), DEVHOST_BIN, '--app', options.appDir ?? REPO_ROOT, '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      output += d.toString();
      if (options.keepLogChars !== undefined && output.length > 2 * options.keepLogChars) output = output.slice(-options.keepLogChars);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`devhost exited (${child.exitCode}):\n${output.slice(-4000)}`);
      try {
        const response = await fetch(`${url}/api/health`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`devhost did not become healthy:\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
      if (signal !== 'SIGKILL') setTimeout(() => running.kill('SIGKILL'), 8000).unref();
    });
  };

  await launch();
  return {
    url,
    port,
    logs: () => output,
    request: requester(url),
    kill,
    async restart() {
      await kill('SIGKILL');
      await launch();
    },
    stop: () => kill('SIGTERM'),
  };
}

/** Requests against `baseUrl`, as BrokerHost.request. */
export function requester(baseUrl: string): BrokerHost['request'] {
  return async (method, route, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(route.startsWith('http') ? route : `${baseUrl}${route}`, { method, headers, body, redirect: opts.redirect ?? 'manual', signal: opts.signal });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  };
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
