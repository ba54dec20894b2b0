'use strict';
// The trivial function the broker's routes are judged against: no authentication, no services, the
// same body and content type the measured route answers (BENCH_BODY), in the broker's stream mode.
const { app } = require('@azure/functions');

app.setup({ enableHttpStream: true });

const body = process.env.BENCH_BODY ?? '{}';
const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

app.http('trivial', {
  methods: ['GET'],
  authLevel: 'anonymous',
  route: 'trivial',
  handler: async () => ({ status: 200, headers, body }),
});
