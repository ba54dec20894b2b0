/**
 * A round-robin front for several broker hosts, as a load balancer in front of several app
 * instances: each request goes to the next host in turn, bytes and the request target untouched.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinFront {
  url: string;
  port: number;
  /** How many requests each target got. */
  readonly counts: number[];
  close(): Promise<void>;
}

export async function startRoundRobin(targetPorts: number[], port = 0): Promise<RoundRobinFront> {
  const counts = targetPorts.map(() => 0);
  const agent = new http.Agent({ keepAlive: true });
  let next = 0;
  const server = http.createServer((req, res) => {
    const index = next;
    next = (next + 1) % targetPorts.length;
    counts[index] += 1;
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPorts[index], method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      // A killed host: answer as a load balancer would, the client may retry.
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream unavailable');
    });
    req.pipe(upstream);
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
