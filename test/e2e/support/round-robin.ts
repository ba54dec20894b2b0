/**
 * A round-robin front for several broker hosts, as a load balancer in front of several app
 * instances: each request goes to the next host in turn, the request target untouched. A host that
 * refuses the connection (killed) is skipped for that request, as a balancer's health check would.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinFront {
  url: string;
  port: number;
  /** How many requests each target answered. */
  readonly counts: number[];
  close(): Promise<void>;
}

export async function startRoundRobin(targetPorts: number[], port = 0): Promise<RoundRobinFront> {
  const counts = targetPorts.map(() => 0);
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;

  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, attempt: number, index: number) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPorts[index], method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        counts[index] += 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      const refused = error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET';
      if (refused && !res.headersSent && attempt + 1 < targetPorts.length) {
        forward(req, body, res, attempt + 1, (index + 1) % targetPorts.length);
        return;
      }
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream unavailable');
    });
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const index = next;
    next = (next + 1) % targetPorts.length;
    // Test traffic is small: hold the body so a refused host can be skipped.
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, 0, index));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
