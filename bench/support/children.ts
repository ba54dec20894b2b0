/**
 * Helper processes of a bench (baseline servers, the upstream resource): each is a node script that
 * prints one JSON line `{"port": n}` once it listens on 127.0.0.1. All are tracked so the run can
 * stop every one of them at the end, whatever happened.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

const running = new Set<ChildProcess>();

export interface HelperServer {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startHelperServer(script: string, env: Record<string, string> = {}): Promise<HelperServer> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'servers', script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 10_000);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      child.stdout?.resume();
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { port, url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAllHelpers(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

/** Last resort on process exit: nothing may outlive the run. */
export function killAllHelpersNow(): void {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
}
