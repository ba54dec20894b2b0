// The e2e test provider (test/support/oidc/oidc-server.mjs: same argument, same output), with room
// for thousands of connections. oidc-provider's development memory adapter keeps 1,000 entries in
// an LRU per provider, so past ~150 connections it evicts live grants and refresh tokens and answers
// `invalid_grant` to refreshes that are valid. The provider offers no setting for that size, so a
// loader hook enlarges it in the adapter's source as it loads.
import { register } from 'node:module';

const hook = `
export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  if (!url.endsWith('/oidc-provider/lib/adapters/memory_adapter.js')) return loaded;
  const source = String(loaded.source).replace('new LRU({ maxSize: 1000 })', 'new LRU({ maxSize: 5000000 })');
  if (!source.includes('maxSize: 5000000')) throw new Error('bench oidc server: memory adapter size not found');
  return { ...loaded, source };
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
await import('../../test/support/oidc/oidc-server.mjs');
