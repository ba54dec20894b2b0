/**
 * The host's forward to the programming model's stream-mode server reuses its connections: a new
 * TCP connection per invocation would cost a handshake and a socket on both sides of every request.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardToModel, modelAgent, pipeModelResponse } from '../../devhost/src/http/http-stream';

const listen = (server: http.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const close = (server: http.Server) => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));

test('sequential and concurrent forwards to the model share a few kept-alive connections', async () => {
  let connections = 0;
  const seenIds: string[] = [];
  const model = http.createServer((req, res) => {
    seenIds.push(String(req.headers['x-ms-invocation-id']));
    req.resume();
    req.on('end', () => res.end(`answer to ${req.url}`));
  });
  model.on('connection', () => connections++);
  const modelPort = await listen(model);

  let invocation = 0;
  const modelSockets = modelAgent();
  const front = http.createServer(async (req, res) => {
    const forwarded = forwardToModel({ host: '127.0.0.1', port: modelPort, agent: modelSockets }, `inv-${++invocation}`, req, 'front');
    const answer = await forwarded.response;
    if (answer) pipeModelResponse(answer, res);
    else res.writeHead(502).end();
  });
  const frontPort = await listen(front);
  const client = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const get = (path: string) =>
    new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: frontPort, path, agent: client }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
  try {
    for (let i = 0; i < 20; i++) expect(await get(`/one/${i}`)).toBe(`answer to /one/${i}`);
    expect(connections).toBe(1);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => get(`/many/${i}`)));
    expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => `answer to /many/${i}`));
    expect(connections).toBeLessThanOrEqual(4);
    expect(new Set(seenIds).size).toBe(60);
  } finally {
    client.destroy();
    modelSockets.destroy();
    await close(front);
    await close(model);
  }
});
