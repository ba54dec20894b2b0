/**
 * A client app's webhook endpoint for end-to-end tests: a node:http server on loopback that records
 * every delivery with its raw body and headers, checks the signature with the broker's own
 * `verifyWebhook`, and answers with a status the test can script per attempt.
 */
import { createServer, IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '../../../src/webhooks/signature';

export interface ReceivedDelivery {
  at: number;
  eventId: string | undefined;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** `verifyWebhook` with the receiver's secret at arrival time. */
  verified: boolean;
  /** The status the receiver answered. */
  answered: number;
  event: { id: string; type: string; occurredAt: string; data: Record<string, unknown> };
}

export interface WebhookReceiver {
  /** The URL to register, `http://127.0.0.1:<port>/hook`. */
  url: string;
  deliveries(): ReceivedDelivery[];
  /** The status for the next delivery whose event type is `type` (once; default answer is 204). */
  failNext(type: string, status: number): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const scripted = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhook({
        secret,
        timestampHeader: single(req.headers['x-broker-timestamp']),
        signatureHeader: single(req.headers['x-broker-signature']),
        body: rawBody,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      let event: ReceivedDelivery['event'];
      try {
        event = JSON.parse(rawBody);
      } catch {
        res.writeHead(400).end();
        return;
      }
      let answered = verified ? 204 : 401;
      const scriptedStatus = scripted.get(event.type);
      if (verified && scriptedStatus !== undefined) {
        scripted.delete(event.type);
        answered = scriptedStatus;
      }
      received.push({ at: Date.now(), eventId: single(req.headers['x-broker-event-id']), headers: req.headers, rawBody, verified, answered, event });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries: () => [...received],
    failNext: (type, status) => scripted.set(type, status),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
