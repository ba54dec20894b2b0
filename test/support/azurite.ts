/**
 * A real Azurite (npm) per test file: blob, queue and table services on free loopback ports, data in
 * memory. Returns a connection string with explicit endpoints, as a real account would have.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteInstance {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  /** The same account with some services reached on other loopback ports (e.g. counting forwarders). */
  connectionStringVia(ports: Partial<AzuriteInstance['ports']>): string;
  stop(): Promise<void>;
  /** Stops and starts the same ports again (data is lost in memory mode; use `location` to keep it). */
  restart(): Promise<void>;
}

/**
 * A loopback port nothing listens on, for a server started later. It is chosen below the machine's
 * ephemeral range: a port the kernel hands out for `listen(0)` is also one it hands out as the
 * local end of outgoing connections, so between the check and the later listen a connection could
 * take it (seen once as EADDRINUSE when the bench started a world beside thousands of sockets).
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = FIRST_LISTEN_PORT + Math.floor(Math.random() * (low - FIRST_LISTEN_PORT));
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port from ${FIRST_LISTEN_PORT} to ${low - 1}`);
}

const FIRST_LISTEN_PORT = 10_000;
/** Ports this process has handed out, never handed out twice (each is checked then closed). */
const handedOut = new Set<number>();
const IANA_EPHEMERAL_LOW = 49_152;
let ephemeralLowPort: number | undefined;

/** The first port of the machine's ephemeral range, read once. */
function ephemeralLow(): number {
  if (ephemeralLowPort === undefined) {
    try {
      const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
      ephemeralLowPort = low > FIRST_LISTEN_PORT + 1000 ? low : IANA_EPHEMERAL_LOW;
    } catch {
      ephemeralLowPort = IANA_EPHEMERAL_LOW; // not Linux: Windows and macOS keep to the IANA range by default
    }
  }
  return ephemeralLowPort;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on ${port}`);
}

export interface AzuriteOptions {
  location?: string;
  /**
   * Serve this account instead of the emulator's well-known one (AZURITE_ACCOUNTS): to the broker it
   * is then real storage, not local development storage, even on a loopback endpoint.
   */
  account?: { name: string; key: string };
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const accountName = options.account?.name ?? AZURITE_ACCOUNT;
  const accountKey = options.account?.key ?? AZURITE_KEY;
  const ports = { blob: await freePort(), queue: await freePort(), table: await freePort() };
  const bin = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/azurite.js');
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
      bin, '--silent', '--skipApiVersionCheck', '--loose', '--disableProductStyleUrl',
      '--blobHost', '127.0.0.1', '--blobPort', String(ports.blob),
      '--queueHost', '127.0.0.1', '--queuePort', String(ports.queue),
      '--tableHost', '127.0.0.1', '--tablePort', String(ports.table),
      ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
    ];
    const env = options.account ? { ...process.env, AZURITE_ACCOUNTS: `${accountName}:${accountKey}` } : process.env;
    child = spawn(process.execPath, args, { stdio: 'ignore', env });
    await waitForPort(ports.table);
    await waitForPort(ports.blob);
    await waitForPort(ports.queue);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
      setTimeout(() => running.kill('SIGKILL'), 3000).unref();
    });
  };

  await launch();
  const host = 'http://127.0.0.1';
  const connectionStringAt = (at: AzuriteInstance['ports']) =>
    `DefaultEndpointsProtocol=http;AccountName=${accountName};AccountKey=${accountKey};` +
    `BlobEndpoint=${host}:${at.blob}/${accountName};QueueEndpoint=${host}:${at.queue}/${accountName};` +
    `TableEndpoint=${host}:${at.table}/${accountName};`;
  return {
    connectionString: connectionStringAt(ports),
    connectionStringVia: (via) => connectionStringAt({ ...ports, ...via }),
    ports,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}
