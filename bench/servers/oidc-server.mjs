// The e2e test provider (test/support/oidc/oidc-server.mjs: same argument, same output), with room
// for thousands of connections. oidc-provider's development memory adapter keeps 1,000 entries in
// an LRU per provider, so past ~150 connections it evicts live grants and refresh tokens and answers
// `invalid_grant` to refreshes that are valid. The provider offers no setting for that size, so a
// loader hook enlarges it in the adapter's source as it loads. The same hook lets the refresh bench
// tell its machine connections apart: client credentials requests carry no code or refresh token,
// so each connection asks for a scope of its own (`conn:r-<i>`, `connectionScopes` of them offered,
// too many for the JSON argument to list) and the token log records the scope requested.
import { register } from 'node:module';

const hook = `
const EDITS = [
  ['/oidc-provider/lib/adapters/memory_adapter.js', 'new LRU({ maxSize: 1000 })', 'new LRU({ maxSize: 5000000 })'],
  ['/test/support/oidc/oidc-server.mjs', 'resource: params.resource,', 'resource: params.resource, scope: params.scope,'],
  ['/test/support/oidc/oidc-server.mjs', '  clients,\\n  scopes,\\n', "  clients,\\n  scopes: [...scopes, ...Array.from({ length: config.connectionScopes ?? 0 }, (_, i) => 'conn:r-' + i)],\\n"],
];
export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  const edits = EDITS.filter(([file]) => url.endsWith(file));
  if (!edits.length) return loaded;
  let source = String(loaded.source);
  for (const [file, from, to] of edits) {
    if (!source.includes(from)) throw new Error('bench oidc server: ' + JSON.stringify(from) + ' not found in ' + file);
    source = source.replace(from, to);
  }
  return { ...loaded, source };
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
await import('../../test/support/oidc/oidc-server.mjs');
