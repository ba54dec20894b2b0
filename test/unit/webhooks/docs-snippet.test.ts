import { readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildWebhookPayload } from '../../../src/webhooks/payload';
import { buildWebhookHeaders } from '../../../src/webhooks/signature';

type VerifySnippet = (rawBody: string, headers: IncomingHttpHeaders, secret: string, nowSeconds?: number) => boolean;

/** The Node verification block of docs/webhooks.md, so the documentation cannot drift from the signer. */
function loadDocsSnippet(): VerifySnippet {
  const markdown = readFileSync(join(__dirname, '../../../docs/webhooks.md'), 'utf8');
  const match = /<!-- verify-snippet[^>]*-->\s*```js\n([\s\S]*?)```/.exec(markdown);
  if (match === null) throw new Error('docs/webhooks.md has no verify-snippet block');
  return new Function('require', `${match[1]}\nreturn verifyBrokerWebhook;`)(require) as VerifySnippet;
}

const SECRET = 'whsec_docs';
const verifyBrokerWebhook = loadDocsSnippet();

describe('the verification snippet in docs/webhooks.md', () => {
  let server: Server;
  let url: string;
  const received: Array<{ status: number; eventId: string | undefined }> = [];

  beforeAll(async () => {
    // A receiver written the way the documentation tells client apps to write one.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const status = verifyBrokerWebhook(Buffer.concat(chunks).toString('utf8'), req.headers, SECRET) ? 204 : 401;
        received.push({ status, eventId: req.headers['x-broker-event-id'] as string | undefined });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  const payload = buildWebhookPayload({
    type: 'connection.reauth_required',
    connectionId: 'c-9',
    provider: 'xero',
    clientId: 'app1',
    status: 'reauth_required',
    occurredAt: '2025-02-01T08:00:00Z',
    error: { code: 'OAUTH_INVALID_GRANT', message: 'Le jeton a expiré ✓' },
  });

  async function deliver(body: string, secret: string): Promise<number> {
    const headers = buildWebhookHeaders({ secrets: [secret], eventId: payload.id, body: payload.body, timestampSeconds: Math.floor(Date.now() / 1000) });
    const response = await fetch(url, { method: 'POST', headers, body });
    return response.status;
  }

  test('when the broker signs a delivery, then a receiver using the snippet accepts it over HTTP', async () => {
    expect(await deliver(payload.body, SECRET)).toBe(204);
    expect(received.at(-1)).toEqual({ status: 204, eventId: payload.id });
  });

  test('when the body is altered in transit, then the receiver refuses it', async () => {
    expect(await deliver(payload.body.replace('c-9', 'c-8'), SECRET)).toBe(401);
  });

  test('when the webhook-id is swapped for another event\'s, then the snippet refuses it (the id is signed)', () => {
    const headers = buildWebhookHeaders({ secrets: [SECRET], eventId: payload.id, body: payload.body, timestampSeconds: 1_700_000_000 });
    expect(verifyBrokerWebhook(payload.body, headers, SECRET, 1_700_000_000)).toBe(true);
    expect(verifyBrokerWebhook(payload.body, { ...headers, 'webhook-id': 'evt_other' }, SECRET, 1_700_000_000)).toBe(false);
  });

  test('when the broker signs with a new and an old whsec_ secret, then the snippet accepts either', () => {
    const [fresh, old] = ['whsec_' + Buffer.from('new key').toString('base64'), 'whsec_' + Buffer.from('old key').toString('base64')];
    const headers = buildWebhookHeaders({ secrets: [fresh, old], eventId: payload.id, body: payload.body, timestampSeconds: 1_700_000_000 });
    expect(verifyBrokerWebhook(payload.body, headers, fresh, 1_700_000_000)).toBe(true);
    expect(verifyBrokerWebhook(payload.body, headers, old, 1_700_000_000)).toBe(true);
    expect(verifyBrokerWebhook(payload.body, headers, SECRET, 1_700_000_000)).toBe(false);
  });

  test('when the delivery is signed with another secret, then the receiver refuses it', async () => {
    expect(await deliver(payload.body, 'whsec_other')).toBe(401);
  });

  test('the snippet refuses a delivery older than 300 seconds', () => {
    const timestampSeconds = 1_700_000_000;
    const headers = buildWebhookHeaders({ secrets: [SECRET], eventId: payload.id, body: payload.body, timestampSeconds });
    expect(verifyBrokerWebhook(payload.body, headers, SECRET, timestampSeconds + 300)).toBe(true);
    expect(verifyBrokerWebhook(payload.body, headers, SECRET, timestampSeconds + 301)).toBe(false);
  });
});
