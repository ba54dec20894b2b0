/**
 * A client app's webhook endpoint for end-to-end tests: a node:http server on loopback that records
 * every delivery with its raw body and headers, checks the Standard Webhooks signature with the
 * `standardwebhooks` package (what it answers on) and the legacy one with the broker's own
 * `verifyWebhook`, and answers with a status the test can script per attempt.
 */
import { createServer, IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '../../../src/webhooks/signature';

export interface ReceivedDelivery {
  at: number;
  eventId: string | undefined;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The legacy `x-broker-signature`, by `verifyWebhook` with the receiver's secret at arrival time. */
  verified: boolean;
  /** The Standard Webhooks headers, by the `standardwebhooks` package with the receiver's secret. */
  standardVerified: boolean;
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
  /** The status for every delivery of `type` until called again with `undefined`. */
  failAll(type: string, status: number | undefined): void;
  stop(): Promise<void>;
}

/** The package reads `whsec_<base64>` secrets; other secrets are their own bytes ("raw"). */
function standardVerifier(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedDelivery[] = [];
  const scripted = new Map<string, number>();
  const persistent = new Map<string, number>();
  const standard = standardVerifier(secret);
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
      let standardVerified = true;
      try {
        standard.verify(rawBody, req.headers as Record<string, string>);
      } catch {
        standardVerified = false;
      }
      let event: ReceivedDelivery['event'];
      try {
        event = JSON.parse(rawBody);
      } catch {
        res.writeHead(400).end();
        return;
      }
      let answered = standardVerified ? 204 : 401;
      const scriptedStatus = scripted.get(event.type);
      if (standardVerified && scriptedStatus !== undefined) {
        scripted.delete(event.type);
        answered = scriptedStatus;
      } else if (standardVerified && persistent.has(event.type)) {
        answered = persistent.get(event.type)!;
      }
      received.push({ at: Date.now(), eventId: single(req.headers['x-broker-event-id']), headers: req.headers, rawBody, verified, standardVerified, answered, event });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries: () => [...received],
    failNext: (type, status) => scripted.set(type, status),
    failAll: (type, status) => (status === undefined ? persistent.delete(type) : persistent.set(type, status)),
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
