/**
 * Embedded Azurite for `UseDevelopmentStorage=true`: reuse one already listening on the table port,
 * otherwise run the `azurite` package's bin as a child process with its data in `<app>/.azurite/`.
 * A child left running by a host that was killed is adopted (its pid is recorded) and stopped on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { HostLogger } from '../log';

const PID_FILE = 'devhost-azurite.pid';
const START_TIMEOUT_MS = 30_000;

/** True when something accepts TCP connections on host:port. */
export function probePort(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface EmbeddedAzurite {
  /** Stops the Azurite this host started or adopted; no-op when it reused someone else's. */
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  location: string;
  ports?: { blob: number; queue: number; table: number };
  inMemory?: boolean;
  logger?: HostLogger;
}

/** Path of the `azurite` bin script (resolved from this package's dependencies). */
export function azuriteBin(): string {
  return require.resolve('azurite/dist/src/azurite.js');
}

function waitForPort(port: number, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      if (child && child.exitCode !== null) return reject(new Error(`Azurite exited with code ${child.exitCode} before listening`));
      if (await probePort(port)) return resolve();
      if (Date.now() > deadline) return reject(new Error(`Azurite did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`));
      setTimeout(tick, 100);
    };
    void tick();
  });
}

function stopPid(pid: number, child?: ChildProcess, graceMs = 1800): Promise<void> {
  return new Promise((resolve) => {
    if (!isAlive(pid)) return resolve();
    const deadline = Date.now() + graceMs;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return resolve();
    }
    const check = () => {
      const gone = child ? child.exitCode !== null || child.signalCode !== null : !isAlive(pid);
      if (gone) return resolve();
      if (Date.now() > deadline) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        return resolve();
      }
      setTimeout(check, 50);
    };
    check();
  });
}

/** Starts (or reuses/adopts) Azurite and resolves once its table port accepts connections. */
export async function ensureAzurite(opts: AzuriteOptions): Promise<EmbeddedAzurite> {
  const ports = opts.ports ?? { blob: 10000, queue: 10001, table: 10002 };
  mkdirSync(opts.location, { recursive: true });
  const pidFile = path.join(opts.location, PID_FILE);
  if (await probePort(ports.table)) {
    const recorded = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(recorded) && isAlive(recorded)) {
      opts.logger?.info(`Adopting Azurite (pid ${recorded}) left running on 127.0.0.1:${ports.table}`);
      return { stop: () => stopPid(recorded).then(() => rmSync(pidFile, { force: true })) };
    }
    opts.logger?.info(`Using the storage emulator already listening on 127.0.0.1:${ports.table}`);
    return { stop: async () => undefined };
  }
  const args = [
    azuriteBin(),
    '--silent',
    '--skipApiVersionCheck',
    '--loose',
    '--disableTelemetry',
    '--blobPort', String(ports.blob),
    '--queuePort', String(ports.queue),
    '--tablePort', String(ports.table),
    ...(opts.inMemory ? ['--inMemoryPersistence'] : ['--location', opts.location]),
  ];
  // Detached into its own process group so a Ctrl-C aimed at the host does not kill it before the
  // host has committed its last writes; the host stops it explicitly.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.unref();
  (child.stderr as unknown as { unref?: () => void })?.unref?.();
  try {
    await waitForPort(ports.table, child, START_TIMEOUT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
  }
  if (child.pid) writeFileSync(pidFile, String(child.pid));
  opts.logger?.info(`Started Azurite (pid ${child.pid}) on 127.0.0.1:${ports.blob}-${ports.table}, data in ${opts.location}`);
  return {
    stop: async () => {
      if (child.pid) await stopPid(child.pid, child);
      rmSync(pidFile, { force: true });
    },
  };
}
