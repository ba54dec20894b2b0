/**
 * Server processes the tests and benches start: each prints one JSON line once it listens. One
 * reader for that line and one way to stop them, so every starter fails and cleans up alike.
 */
import { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Resolves with the child's first stdout line parsed as JSON; kills the child and rejects when it
 * exits first or does not answer within `timeoutMs`. `stderr` supplies context for the error.
 */
export function readStartLine<T>(child: ChildProcess, name: string, timeoutMs: number, stderr: () => string = () => ''): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`${name} did not start in time`)), timeoutMs);
    const onExit = (code: number | null) => fail(new Error(`${name} exited (${code}) before listening: ${stderr()}`));
    function fail(error: Error) {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      reject(error);
    }
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      // Keep draining stdout so the child never blocks on a full pipe.
      child.stdout?.resume();
      resolve(JSON.parse(line) as T);
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited. */
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
