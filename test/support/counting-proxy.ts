/**
 * A loopback HTTP forwarder in front of one Azurite service that counts the storage requests the
 * broker makes (and, inside entity-group transactions, the operations each batch carries): the
 * benches report storage operations per flow and per refresh cycle with it, and tests bound what a
 * request may cost storage.
 */
import http from 'node:http';
import net from 'node:net';

export interface StorageCounts {
  requests: number;
  /** Requests with a `$batch` counted as the number of operations inside them. */
  operations: number;
  batches: number;
  byMethod: Record<string, number>;
  /** By method and the table, queue or container addressed, e.g. `GET Connections`. */
  byTarget: Record<string, number>;
}

export interface CountingProxy {
  port: number;
  counts(): StorageCounts;
  stop(): Promise<void>;
}

const BATCH_OPERATION = /^(GET|POST|PUT|PATCH|MERGE|DELETE) https?:\/\//gm;

export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const counts: StorageCounts = { requests: 0, operations: 0, batches: 0, byMethod: {}, byTarget: {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.requests++;
      counts.byMethod[req.method ?? '?'] = (counts.byMethod[req.method ?? '?'] ?? 0) + 1;
      const target = `${req.method} ${/^\/[^/]+\/([A-Za-z0-9$-]+)/.exec(req.url ?? '')?.[1] ?? '?'}`;
      counts.byTarget[target] = (counts.byTarget[target] ?? 0) + 1;
      if (req.url?.includes('$batch')) {
        counts.batches++;
        counts.operations += Math.max(1, body.toString('utf8').match(BATCH_OPERATION)?.length ?? 0);
      } else {
        counts.operations++;
      }
      const headers = { ...req.headers };
      delete headers.connection;
      const forward = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      forward.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts: () => ({ ...counts, byMethod: { ...counts.byMethod }, byTarget: { ...counts.byTarget } }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}
