/** POST /api/ops/mcp-servers (operator): discover and register at an OAuth-protected MCP server. */
import { app } from '@azure/functions';
import { BrokerError } from '../domain/errors';
import { json, operatorRoute } from '../http/handler';
import { readJsonBody } from '../http/request';
import { objectBody } from '../http/validate';
import { addMcpServer } from '../services/mcp-servers';

app.http('opsAddMcpServer', {
  route: 'ops/mcp-servers',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: operatorRoute(async ({ request, runtime }) => {
    const body = objectBody(await readJsonBody(request), new Set(['url', 'provider', 'displayName', 'clientId', 'clientSecret']));
    const text = (field: string) => {
      const value = body[field];
      if (value !== undefined && (typeof value !== 'string' || value === '')) throw new BrokerError('INVALID_REQUEST', `"${field}" must be a string`, { details: { field } });
      return value as string | undefined;
    };
    const [url, provider, displayName, clientId, clientSecret] = ['url', 'provider', 'displayName', 'clientId', 'clientSecret'].map(text);
    if (!url || !provider) throw new BrokerError('INVALID_REQUEST', '"url" and "provider" are required', { details: { field: url ? 'provider' : 'url' } });
    const added = await addMcpServer(runtime, {
      url,
      provider,
      ...(displayName ? { displayName } : {}),
      ...(clientId ? { preRegistered: { clientId, ...(clientSecret ? { clientSecret } : {}) } } : {}),
    });
    // The definition holds the registration's client secret: operators only, never cached.
    return json(200, added);
  }),
});
