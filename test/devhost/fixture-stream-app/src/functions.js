// HTTP stream mode: bodies arrive and leave as web streams.
const { createHash } = require('node:crypto');
const { TransformStream } = require('node:stream/web');
const { app } = require('@azure/functions');

app.setup({ enableHttpStream: true });

// Echoes the request body while it is still arriving (full duplex) and counts what it saw.
let lastEcho;
app.http('echoStream', {
  methods: ['POST'],
  route: 'echo-stream',
  handler: async (req) => {
    const stats = { chunks: 0, maxChunk: 0, bytes: 0, sha256: '' };
    const hash = createHash('sha256');
    lastEcho = stats;
    const counting = new TransformStream({
      transform(chunk, controller) {
        stats.chunks += 1;
        stats.maxChunk = Math.max(stats.maxChunk, chunk.byteLength);
        stats.bytes += chunk.byteLength;
        hash.update(chunk);
        controller.enqueue(chunk);
      },
      flush() {
        stats.sha256 = hash.digest('hex');
      },
    });
    return { status: 201, headers: { 'content-type': 'application/octet-stream', 'x-echo': 'yes' }, body: req.body.pipeThrough(counting) };
  },
});

app.http('echoStats', { methods: ['GET'], route: 'echo-stats', handler: async () => ({ jsonBody: lastEcho ?? null }) });

app.http('describe', {
  methods: ['GET', 'PUT'],
  route: 'describe/{id:int}/{name?}',
  handler: async (req) => ({
    headers: { 'x-kind': 'describe' },
    cookies: [{ name: 'seen', value: '1', path: '/' }],
    jsonBody: {
      id: req.params.id,
      name: req.params.name ?? null,
      method: req.method,
      url: req.url,
      q: req.query.getAll('q'),
      header: req.headers.get('x-test'),
      unencoded: req.headers.get('x-waws-unencoded-url'),
      text: req.method === 'PUT' ? await req.text() : null,
    },
  }),
});

app.http('nothing', { methods: ['GET'], route: 'nothing', handler: async () => undefined });

app.http('fails', {
  methods: ['GET'],
  route: 'fails',
  handler: async () => {
    throw new Error('boom');
  },
});

// Which worker process answered (the forwarded request must reach the worker that runs the invocation).
app.http('streamWorkerPid', { methods: ['GET'], route: 'worker/pid', handler: async () => ({ jsonBody: { pid: process.pid } }) });
