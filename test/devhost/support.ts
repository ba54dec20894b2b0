/**
 * Test support for devhost: free loopback ports, a private in-memory Azurite per test file, a fresh
 * copy of the fixture app (with node_modules links to this repository's packages), and the host bin
 * as a child process that tests can SIGTERM or SIGKILL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'devhost', 'bin', 'devhost.js');
const CLI = path.join(ROOT, 'dist', 'devhost', 'src', 'cli.js');
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles the project when the compiled host is missing or older than its sources. */
export function ensureBuilt(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestMtime(path.join(ROOT, 'devhost', 'src'))) return;
  spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing after the build`);
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface TestAzurite {
  connectionString: string;
  stop(): Promise<void>;
}

/** Starts Azurite (in memory) on free ports. */
export async function startAzurite(): Promise<TestAzurite> {
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  const bin = path.join(ROOT, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
  const child = spawn(
    process.execPath,
    [bin, '--silent', '--inMemoryPersistence', '--skipApiVersionCheck', '--loose', '--disableTelemetry',
      '--blobPort', String(blob), '--queuePort', String(queue), '--tablePort', String(table)],
    { stdio: 'ignore' },
  );
  await waitForPort(table, 30_000);
  const base = 'http://127.0.0.1';
  return {
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${DEV_KEY};` +
      `BlobEndpoint=${base}:${blob}/devstoreaccount1;QueueEndpoint=${base}:${queue}/devstoreaccount1;TableEndpoint=${base}:${table}/devstoreaccount1;`,
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => (clearTimeout(t), resolve()));
    child.kill('SIGTERM');
  });
}

/** A fresh copy of a fixture app (default `fixture-app`) whose node_modules link to this repository's packages. */
export function prepareFixtureApp(settings: Record<string, string> = {}, fixture = 'fixture-app'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devhost-app-'));
  cpSync(path.join(__dirname, fixture), dir, { recursive: true });
  mkdirSync(path.join(dir, 'node_modules', '@azure'), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules', '@azure', 'functions'), path.join(dir, 'node_modules', '@azure', 'functions'), 'dir');
  symlinkSync(path.join(ROOT, 'node_modules', 'durable-functions'), path.join(dir, 'node_modules', 'durable-functions'), 'dir');
  writeFileSync(path.join(dir, 'local.settings.json'), JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', ...settings } }));
  return dir;
}

export interface HostProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the host printed so far. */
  output(): string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the devhost bin for `appDir`; resolves once it reports "Host started". */
export async function spawnHost(appDir: string, env: Record<string, string>, port?: number): Promise<HostProcess> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [BIN, '--app', appDir, '--port', String(p)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 30_000;
  while (!out.includes('Host started')) {
    if (child.exitCode !== null) throw new Error(`devhost exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`devhost did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    child,
    output: () => out,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Status {
  runtimeStatus: string;
  output: unknown;
  customStatus: unknown;
  input: unknown;
  historyEvents?: { EventType: string; [k: string]: unknown }[];
}

/** Waits until an instance reaches a finished status and returns its status. */
export function waitForFinish(baseUrl: string, instanceId: string, timeoutMs = 20_000): Promise<Status> {
  return eventually(
    async () => {
      const res = await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&showHistoryOutput=true`);
      if (res.status !== 200) return undefined;
      return (await res.json()) as Status;
    },
    timeoutMs,
    `instance ${instanceId} to finish`,
  );
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
