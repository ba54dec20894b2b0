/** GET /api/providers (client) and GET /api/health (anonymous). */
import { app } from '@azure/functions';
import { BrokerError } from '../domain/errors';
import { anonymousRoute, clientRoute, json } from '../http/handler';

app.http('listProviders', {
  route: 'providers',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: clientRoute(async ({ runtime }) =>
    json(200, {
      items: runtime.providers.configured().map((p) => ({ name: p.name, protocol: p.protocol, displayName: p.displayName })),
    }),
  ),
});

app.http('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: anonymousRoute(async ({ runtime }) => {
    try {
      await runtime.health.check();
    } catch (error) {
      throw new BrokerError('STORAGE_UNAVAILABLE', 'storage is not reachable yet', { cause: error, transient: true });
    }
    return json(200, { status: 'ok' });
  }),
});
