/**
 * GET /api/mcp/client-metadata/{provider}: the broker's OAuth Client ID Metadata Document for one
 * provider's callback. Its own URL is the client_id an MCP authorization server that supports
 * metadata documents fetches (src/mcp/registration.ts).
 */
import { app } from '@azure/functions';
import { anonymousRoute, json } from '../http/handler';
import { clientMetadataDocument } from '../mcp/registration';
import { callbackUrl } from '../services/runtime';

app.http('mcpClientMetadata', {
  route: 'mcp/client-metadata/{provider}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: anonymousRoute(async ({ request, runtime }) => {
    const provider = runtime.providers.get(request.params.provider ?? '');
    const documentUrl = `${runtime.settings.baseUrl}/api/mcp/client-metadata/${encodeURIComponent(provider.name)}`;
    // Public and identical for every reader; short caching lets authorization servers refetch.
    return json(200, clientMetadataDocument(documentUrl, [callbackUrl(runtime.settings, provider.name)]), { 'cache-control': 'public, max-age=300' });
  }),
});
