/**
 * Helper processes of a bench (baseline servers, the upstream resource): each is a node script that
 * prints one JSON line `{"port": n}` once it listens on 127.0.0.1. All are tracked so the run can
 * stop every one of them at the end, whatever happened.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { readStartLine, stopChild } from '../../test/support/child-process';
import { freePort } from '../../test/support/azurite';

const ROOT = path.resolve(__dirname, '../..');

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

/**
 * The platform's ceiling: bench/fixture-app (one trivial v4 HTTP function answering `body` at
 * `/api/trivial`, in stream mode like the broker) on the repository's local host, the same devhost
 * bin the broker runs on. `execArgv` (e.g. `--cpu-prof`) go to the host process.
 */
export async function startTrivialHost(storage: string, body: string, execArgv: string[] = []): Promise<HelperServer & { routeUrl: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...execArgv, path.join(ROOT, 'devhost/bin/devhost.js'), '--app', path.join(ROOT, 'bench/fixture-app'), '--port', String(port)], {
    env: { ...process.env, AzureWebJobsStorage: storage, BENCH_BODY: body },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let tail = '';
  const keep = (d: Buffer) => void (tail = (tail + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const routeUrl = `${url}/api/trivial`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`trivial host exited (${child.exitCode}): ${tail}`);
    const answer = await fetch(routeUrl).then((r) => r.text(), () => undefined);
    if (answer === body) break;
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`trivial host did not answer the body in time: ${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, url, routeUrl, pid: child.pid!, stop: () => stopChild(child) };
}

export async function stopAllHelpers(): Promise<void> {
  await Promise.all([...running].map(stopChild));
}

/** Last resort on process exit: nothing may outlive the run. */
export function killAllHelpersNow(): void {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
}
