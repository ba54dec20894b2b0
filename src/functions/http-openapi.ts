/** GET /api/openapi.json: the API's OpenAPI 3.1 description (anonymous; it holds nothing secret). */
import { app } from '@azure/functions';
import { OPENAPI_DOCUMENT } from '../openapi/document';

const body = JSON.stringify(OPENAPI_DOCUMENT);

app.http('openApiDocument', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => ({
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' },
    body,
  }),
});
