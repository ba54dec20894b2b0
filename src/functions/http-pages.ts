/** The anonymous browser pages and their assets (src/pages/static-pages.ts), one route each. */
import { app } from '@azure/functions';
import { STATIC_PAGES, staticPageAnswer } from '../pages/static-pages';

for (const page of STATIC_PAGES) {
  const answer = staticPageAnswer(page.file);
  app.http(page.name, { route: page.route, methods: ['GET'], authLevel: 'anonymous', handler: async () => answer() });
}
