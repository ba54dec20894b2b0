import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { BrokerError } from '../../../src/domain/errors';
import { sendHttpRequest } from '../../../src/oauth/http';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(BrokerError);
  return error as BrokerError;
}

describe('sendHttpRequest', () => {
  test('sends method, headers and body unchanged and returns status, lower-case headers and raw body', async () => {
    let seen: { method?: string; contentType?: string; auth?: string; body?: string } = {};
    handler = (req, body, res) => {
      seen = { method: req.method, contentType: req.headers['content-type'], auth: req.headers.authorization, body: body.toString() };
      res.writeHead(201, { 'X-Answer': 'yes', 'Set-Cookie': ['a=1', 'b=2'] });
      res.end(Buffer.from([0, 1, 2, 255]));
    };

    const response = await sendHttpRequest({
      url: `${baseUrl}/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic abc' },
      body: 'a=1&b=%20',
    });

    expect(seen).toEqual({ method: 'POST', contentType: 'application/x-www-form-urlencoded', auth: 'Basic abc', body: 'a=1&b=%20' });
    expect(response.status).toBe(201);
    expect(response.headers['x-answer']).toBe('yes');
    expect(response.headers['set-cookie']).toBe('a=1, b=2');
    expect([...response.body]).toEqual([0, 1, 2, 255]);
  });

  test('when the peer answers 500, then the response is returned, not thrown', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('boom');
    };
    const response = await sendHttpRequest({ url: `${baseUrl}/x`, method: 'GET', headers: {} });
    expect(response.status).toBe(500);
    expect(response.body.toString()).toBe('boom');
  });

  test('when the peer redirects, then the redirect is returned and not followed', async () => {
    let requests = 0;
    handler = (_req, _body, res) => {
      requests += 1;
      res.writeHead(302, { location: `${baseUrl}/elsewhere` });
      res.end();
    };
    const response = await sendHttpRequest({ url: `${baseUrl}/token`, method: 'POST', headers: { authorization: 'Basic abc' }, body: 'x=1' });
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe(`${baseUrl}/elsewhere`);
    expect(requests).toBe(1);
  });

  test('when the peer does not answer in time, then PROVIDER_TIMEOUT transient naming only the origin', async () => {
    handler = () => undefined;
    const error = await rejection(sendHttpRequest({ url: `${baseUrl}/token?token=SECRET`, method: 'GET', headers: {} }, { timeoutMs: 200 }));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_TIMEOUT', transient: true }));
    expect(error.message).toContain(baseUrl);
    expect(error.message).not.toContain('SECRET');
  });

  test('when the peer resets the connection, then PROVIDER_UNAVAILABLE transient', async () => {
    handler = (req) => req.socket.destroy();
    const error = await rejection(sendHttpRequest({ url: `${baseUrl}/x`, method: 'GET', headers: {} }));
    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true }));
  });

  test('when nothing listens on the port, then PROVIDER_UNAVAILABLE transient with ECONNREFUSED', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));

    const error = await rejection(sendHttpRequest({ url: `http://127.0.0.1:${port}/token`, method: 'POST', headers: { authorization: 'Basic SECRET' }, body: '' }));

    expect(error).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', transient: true, details: { transportCode: 'ECONNREFUSED' } }));
    expect(error.cause).toBeUndefined();
    expect(error.message).not.toContain('SECRET');
  });
});
