/**
 * The benches' world: the e2e world's parts (Azurite, oidc-provider, the broker on devhost as a
 * child process), plus what only the benches need: a trivial upstream resource as the provider's
 * `apiBaseUrl`, a second oidc client for flows done directly against the provider, and optionally
 * counting forwarders in front of Azurite.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { AzuriteInstance, freePort, startAzurite } from '../../test/support/azurite';
import { BrokerHost, startBrokerHost } from '../../test/e2e/support/broker-host';
import { CLIENT_KEY, OPERATOR_KEY, RETURN_URL } from '../../test/e2e/support/world';
import { BenchOidc, startBenchOidc } from './bench-oidc';
import { CountingProxy, StorageCounts, startCountingProxy } from '../../test/support/counting-proxy';
import { HelperServer, startHelperServer } from './children';

export { CLIENT_KEY, OPERATOR_KEY, RETURN_URL };
/** The one client app of the bench world (connection instance ids are namespaced by it). */
export const CLIENT_ID = 'app1';

/** The oidc client a plain OAuth client (the flow baseline) uses; its redirect target is never fetched. */
export const DIRECT_CLIENT = {
  clientId: 'direct',
  clientSecret: 'direct-secret-basic',
  redirectUri: 'http://127.0.0.1:9/direct/callback',
} as const;

export const PROVIDER = 'oidc';

export interface BenchWorldOptions {
  accessTokenTtlSeconds: number;
  /** Put counting forwarders between the broker and Azurite. */
  countStorage?: boolean;
  /** Node options of the broker's host process (e.g. `--cpu-prof`). */
  brokerExecArgv?: string[];
  /** Client apps the broker knows (default 1: `app1` alone); see `benchClient`. */
  clientApps?: number;
  /** Scopes `conn:r-0` … the provider offers, one per machine connection of the refresh figure. */
  connectionScopes?: number;
  /** Further broker settings (e.g. limits raised for a scale run). */
  settings?: Record<string, string>;
}

/** The n-th client app of the bench world (0 is `app1`, whose key is CLIENT_KEY). */
export function benchClient(n: number): { clientId: string; key: string } {
  return n === 0 ? { clientId: CLIENT_ID, key: CLIENT_KEY } : { clientId: `app${n + 1}`, key: `app${n + 1}-key-0123456789` };
}

export interface BenchWorld {
  azurite: AzuriteInstance;
  oidc: BenchOidc;
  upstream: HelperServer;
  broker: BrokerHost;
  /** Storage requests since start (all services), when counting. */
  storageCounts(): StorageCounts | undefined;
  /** Resident set size of the devhost process, in MiB. */
  brokerRssMiB(): number | undefined;
  stop(): Promise<void>;
}

const liveWorlds = new Set<() => Promise<void>>();

/** Stops every world still running (used when the run is interrupted). */
export async function stopAllWorlds(): Promise<void> {
  await Promise.all([...liveWorlds].map((stop) => stop()));
}

export async function startBenchWorld(options: BenchWorldOptions): Promise<BenchWorld> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    liveWorlds.delete(stopAll);
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  liveWorlds.add(stopAll);
  try {
    const azurite = await startAzurite();
    stops.push(() => azurite.stop());
    let storage = azurite.connectionString;
    let proxies: CountingProxy[] = [];
    if (options.countStorage) {
      proxies = [await startCountingProxy(azurite.ports.blob), await startCountingProxy(azurite.ports.queue), await startCountingProxy(azurite.ports.table)];
      stops.push(async () => void (await Promise.all(proxies.map((p) => p.stop()))));
      const [blob, queue, table] = proxies.map((p) => p.port);
      storage = azurite.connectionStringVia({ blob, queue, table });
    }

    const upstream = await startHelperServer('upstream.js');
    stops.push(() => upstream.stop());
    const brokerPort = await freePort();
    const oidc = await startBenchOidc({
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
      connectionScopes: options.connectionScopes,
      clients: [
        {
          client_id: 'broker',
          client_secret: 'broker-secret-basic',
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [`http://127.0.0.1:${brokerPort}/api/callback/${PROVIDER}`],
          // Client credentials too: the refresh figure's machine connections fetch their tokens with it.
          grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
          response_types: ['code'],
        },
        {
          client_id: DIRECT_CLIENT.clientId,
          client_secret: DIRECT_CLIENT.clientSecret,
          token_endpoint_auth_method: 'client_secret_basic',
          redirect_uris: [DIRECT_CLIENT.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
        },
      ],
    });
    stops.push(() => oidc.stop());

    const providers = {
      [PROVIDER]: {
        protocol: 'oauth2',
        displayName: 'Bench OIDC',
        authorizationUrl: oidc.url('/auth'),
        tokenUrl: oidc.url('/token'),
        revocationUrl: oidc.url('/token/revocation'),
        apiBaseUrl: upstream.url,
        defaultScopes: ['openid', 'read'],
        scopeSeparator: ' ',
        pkce: true,
        clientAuthMethod: 'client_secret_basic',
        clientId: 'broker',
        clientSecret: 'broker-secret-basic',
        grants: ['authorization_code', 'client_credentials'],
      },
    };
    const clientKeys = Array.from({ length: options.clientApps ?? 1 }, (_, n) => benchClient(n)).map((c) => `${c.clientId}:${c.key}`);
    const broker = await startBrokerHost({
      port: brokerPort,
      storage,
      execArgv: options.brokerExecArgv,
      keepLogChars: 1_000_000,
      settings: {
        BROKER_PROVIDERS: JSON.stringify(providers),
        BROKER_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
        BROKER_CLIENT_KEYS: clientKeys.join(','),
        BROKER_OPERATOR_KEY: OPERATOR_KEY,
        BROKER_ALLOWED_RETURN_URLS: RETURN_URL,
        BROKER_AUTHORIZATION_TIMEOUT_SECONDS: '600',
        // The figures measure the paths, not the per-client limits: at the defaults (100 proxied
        // calls a second) most of the proxy figure's requests were 429s. A figure about a limit
        // sets it itself (the profiles' refused route, the isolation figure's own world). Starts
        // keep the default rate (1,200 a minute per client, more than any figure starts): the
        // connections-held count is reused only while that rate leaves room under the quota.
        BROKER_PROXY_REQUESTS_PER_SECOND: '1000000',
        BROKER_PROXY_CONCURRENT_REQUESTS_PER_CLIENT: '256',
        ...options.settings,
      },
    });
    stops.push(() => broker.stop());
    const brokerPid = findDevhostPid(brokerPort);

    return {
      azurite,
      oidc,
      upstream,
      broker,
      storageCounts: () => (proxies.length ? sumCounts(proxies.map((p) => p.counts())) : undefined),
      brokerRssMiB: () => (brokerPid ? readRssMiB(brokerPid) : undefined),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function sumCounts(all: StorageCounts[]): StorageCounts {
  const total: StorageCounts = { requests: 0, operations: 0, batches: 0, byMethod: {}, byTarget: {} };
  for (const c of all) {
    total.requests += c.requests;
    total.operations += c.operations;
    total.batches += c.batches;
    for (const [m, n] of Object.entries(c.byMethod)) total.byMethod[m] = (total.byMethod[m] ?? 0) + n;
    for (const [t, n] of Object.entries(c.byTarget)) total.byTarget[t] = (total.byTarget[t] ?? 0) + n;
  }
  return total;
}

/** The broker host is started by the e2e harness, which does not expose the child: find it by its command line. */
export function findDevhostPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('--port');
      if (argv.some((a) => a.endsWith('devhost.js')) && i >= 0 && argv[i + 1] === String(port)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/** The host and its worker processes (its children), as /proc lists them now. */
function hostAndWorkers(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const isChild = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      if (isChild && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('worker-main.js')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** CPU time (user + system) the host and its worker processes have used so far, in ms. */
export function readCpuMs(pid: number): number {
  let ticks = 0;
  for (const p of hostAndWorkers(pid)) {
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime in clock ticks (USER_HZ 100)
  }
  return (ticks * 1000) / 100;
}

/** Resident memory of the host and its worker processes. */
function readRssMiB(pid: number): number | undefined {
  try {
    let kb = 0;
    for (const p of hostAndWorkers(pid)) kb += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    return kb ? Math.round((kb / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}
