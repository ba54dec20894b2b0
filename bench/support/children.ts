/**
 * Helper processes of a bench (baseline servers, the upstream resource): each is a node script that
 * prints one JSON line `{"port": n}` once it listens on 127.0.0.1. All are tracked so the run can
 * stop every one of them at the end, whatever happened.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { readStartLine, stopChild } from '../../test/support/child-process';

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
  const { port } = await readStartLine<{ port: number }>(child, script, 10_000);
  return { port, url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

export async function stopAllHelpers(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

/** Last resort on process exit: nothing may outlive the run. */
export function killAllHelpersNow(): void {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
}
