import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request exactly as it arrived on the wire. */
export interface RecordedRequest {
  method: string;
  /** The request target as sent (path and query, undecoded). */
  target: string;
  /** Absolute URL the client addressed (`http://` + Host header + target). */
  url: string;
  /** Lower-case names, as Node parses them. */
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the server answers with. */
export interface CannedReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A fake provider for catalogue contract tests: records every request and answers with the reply
 * set by {@link RecordingServer.answerWith} (404 until one is set).
 */
export interface RecordingServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Requests in arrival order since the last {@link RecordingServer.takeRequests}. */
  readonly requests: readonly RecordedRequest[];
  answerWith(reply: CannedReply): void;
  /** Returns the recorded requests and forgets them. */
  takeRequests(): RecordedRequest[];
  /**
   * Re-points a real endpoint at this server, keeping its host as the first path segment and its
   * path and query as they are: `https://github.com/login/oauth/access_token` →
   * `http://127.0.0.1:<port>/github.com/login/oauth/access_token`.
   */
  rebase(realUrl: string): string;
  close(): Promise<void>;
}

const NOT_SET: CannedReply = { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no reply set' };

/** Starts a recording server on a free loopback port. */
export async function startRecordingServer(): Promise<RecordingServer> {
  let requests: RecordedRequest[] = [];
  let reply: CannedReply = NOT_SET;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.url ?? '/';
      requests.push({
        method: req.method ?? '',
        target,
        url: `http://${req.headers.host ?? ''}${target}`,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    get requests() {
      return requests;
    },
    answerWith(next) {
      reply = next;
    },
    takeRequests() {
      const taken = requests;
      requests = [];
      return taken;
    },
    rebase(realUrl) {
      const url = new URL(realUrl);
      return `${origin}/${url.host}${url.pathname}${url.search}`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
