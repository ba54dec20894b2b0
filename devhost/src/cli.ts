/**
 * Command line: `devhost --app <dir> --port <n> [--host <addr>] [--worker-id <name>]` (PORT / HOST /
 * DEVHOST_WORKER_ID as defaults).
 * SIGTERM/SIGINT stop the host within 5 s.
 */
import { startHost } from './host';
import { createLogger } from './log';

const HARD_EXIT_MS = 4800;
const USAGE = 'usage: devhost --app <dir> [--port <n>] [--host <address>] [--worker-id <name>]';

export interface CliArgs {
  app: string;
  port?: number;
  host?: string;
  workerId?: string;
}

/** Parses `--name value` and `--name=value`; throws with usage on anything else. */
export function parseArgs(argv: string[]): CliArgs {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    const m = /^--(app|port|host|worker-id)(?:=(.*))?$/.exec(arg);
    if (!m) throw new Error(`unknown argument "${arg}"\n${USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`--${m[1]} needs a value\n${USAGE}`);
    out[m[1]] = value;
  }
  let port: number | undefined;
  if (out.port !== undefined) {
    port = Number(out.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port "${out.port}" is not a port number`);
  }
  const workerId = out['worker-id'];
  if (workerId !== undefined && !/^[\w.-]{1,64}$/.test(workerId)) throw new Error(`--worker-id "${workerId}" must be 1-64 letters, digits, '.', '_' or '-'`);
  return { app: out.app ?? process.cwd(), port, host: out.host, workerId };
}

/** Runs the host until a signal; exits the process. */
export async function main(argv: string[]): Promise<void> {
  const logger = createLogger();
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  let host;
  try {
    host = await startHost({ appDir: args.app, port: args.port, host: args.host, workerId: args.workerId, logger });
  } catch (err) {
    process.stderr.write(`devhost: start-up failed: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const running = host;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received, stopping`);
    setTimeout(() => process.exit(0), HARD_EXIT_MS).unref();
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
