// HTTP features: route templates, methods, binary bodies, headers, query, cookies, hooks, errors.
const { app } = require('@azure/functions');

const hookLog = [];
let appStarted = false;

app.hook.appStart(() => {
  appStarted = true;
});
app.hook.preInvocation((ctx) => {
  if (ctx.invocationContext.functionName === 'hooked') {
    hookLog.push('pre');
    const original = ctx.functionHandler;
    ctx.functionHandler = (req, context) => original(req, context, 'wrapped-by-hook');
  }
});
app.hook.postInvocation((ctx) => {
  if (ctx.invocationContext.functionName === 'hooked') hookLog.push('post');
});

app.http('echo', {
  methods: ['GET', 'POST'],
  route: 'echo/{id:int}/{name?}',
  handler: async (req) => ({
    jsonBody: {
      id: req.params.id,
      name: req.params.name ?? null,
      method: req.method,
      q: req.query.getAll('q'),
      header: req.headers.get('x-test'),
      cookie: req.headers.get('cookie'),
      text: req.method === 'POST' ? await req.text() : null,
    },
  }),
});

app.http('echoLiteral', {
  methods: ['GET'],
  route: 'echo/special',
  handler: async () => ({ body: 'literal wins' }),
});

app.http('files', {
  methods: ['GET'],
  route: 'files/{*path}',
  handler: async (req) => ({ jsonBody: { path: req.params.path ?? '' } }),
});

app.http('binary', {
  methods: ['POST'],
  route: 'binary',
  handler: async (req) => {
    const bytes = Buffer.from(await req.arrayBuffer());
    return { status: 201, body: Buffer.from(bytes).reverse(), headers: { 'content-type': 'application/octet-stream', 'x-length': String(bytes.length) } };
  },
});

app.http('cookies', {
  methods: ['GET'],
  route: 'cookies',
  handler: async () => ({
    body: 'cookies set',
    cookies: [
      { name: 'session', value: 'abc', httpOnly: true, path: '/', secure: true },
      { name: 'pref', value: 'dark', sameSite: 'Lax', maxAge: 60 },
    ],
  }),
});

app.http('throws', {
  methods: ['GET'],
  route: 'throws',
  handler: async () => {
    throw new Error('kaboom from the fixture');
  },
});

app.http('nothing', {
  methods: ['GET'],
  route: 'nothing',
  handler: async () => undefined,
});

app.http('hooked', {
  methods: ['GET'],
  route: 'hooked',
  handler: async (_req, _ctx, extra) => ({ jsonBody: { appStarted, extra: extra ?? null, hookLog: [...hookLog] } }),
});

app.http('env', {
  methods: ['GET'],
  route: 'env/{name}',
  handler: async (req) => ({ jsonBody: { value: process.env[req.params.name] ?? null } }),
});

// What a function sees of its request URL: the route, the URL and the target as the client sent it.
app.http('canonical', {
  methods: ['GET'],
  route: 'x/{name}',
  handler: async (req) => ({ jsonBody: { name: req.params.name, url: req.url, unencoded: req.headers.get('x-waws-unencoded-url') } }),
});
