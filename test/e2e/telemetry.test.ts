/**
 * Telemetry against the running broker: it exports OTLP to an in-memory receiver. One server span
 * per request with child spans for storage, secrets and provider calls in the same trace; metrics
 * for refreshes, refresh failures, lateness, token reads and proxy calls by status. Then every
 * exported attribute, name and byte is scanned for the issued tokens, the authorization code and
 * state, and the keys: none may appear.
 */
import { tokenFingerprint } from '../support/oidc/start-oidc-provider';
import { eventually } from './support/broker-host';
import { type ExportedSpan, type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver';
import { CLIENT_KEY, consent, OPERATOR_KEY, startConnection, startWorld, waitForStatus, type World } from './support/world';

jest.setTimeout(90_000);

let otlp: OtlpReceiver;
let world: World;
beforeAll(async () => {
  otlp = await startOtlpReceiver();
  world = await startWorld({
    accessTokenTtlSeconds: 4,
    extraSettings: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_METRIC_EXPORT_INTERVAL: '500', OTEL_SERVICE_NAME: 'broker-under-test' },
  });
});
afterAll(async () => {
  await world?.stop();
  await otlp?.stop();
});

const childrenOf = (parent: ExportedSpan) => otlp.spans().filter((s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId);
const point = (metric: string, match: Record<string, unknown>) =>
  otlp.points().filter((p) => p.metric === metric && Object.entries(match).every(([k, v]) => p.attributes[k] === v));

test('requests, storage, secrets and provider calls are traced, the broker metrics are exported, and nothing secret is in any of it', async () => {
  const started = await startConnection(world, { provider: 'oidc' });
  const callbackUrl = await consent(world, started.authorizationUrl);
  const callbackQuery = new URL(callbackUrl, world.broker.url).searchParams;
  const [code, state] = [callbackQuery.get('code')!, callbackQuery.get('state')!];
  expect(code && state).toBeTruthy();
  expect((await world.broker.request('GET', callbackUrl)).status).toBeLessThan(400);
  await waitForStatus(world, started.connectionId, 'connected');
  const id = started.connectionId;

  const token = await world.broker.request('GET', `/api/connections/${id}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  expect((await world.broker.request('GET', `/api/connections/${id}/proxy/me`, { key: CLIENT_KEY })).status).toBe(200);
  expect((await world.broker.request('GET', `/api/connections/${id}/proxy/missing?x=1`, { key: CLIENT_KEY })).status).toBe(404);
  // One transient provider failure on a refresh (counted as a failure), then refreshes succeed.
  await world.oidc.setFault({ token: { status: 503, times: 1 } });
  await eventually(async () => (point('broker.refresh.failures', { 'broker.error.code': 'PROVIDER_UNAVAILABLE' }).length > 0 ? true : undefined), 40_000, 250);
  await eventually(async () => (point('broker.refreshes', { 'broker.outcome': 'refreshed' }).length > 0 ? true : undefined), 40_000, 250);
  const late = await world.broker.request('GET', `/api/connections/${id}/token`, { key: CLIENT_KEY });
  expect(late.status).toBe(200);

  // The token read's server span, with storage child spans in its trace.
  const tokenSpan = await eventually(async () => otlp.spans().find((s) => s.name === 'GET getToken' && s.attributes['http.response.status_code'] === 200), 20_000, 250);
  expect(tokenSpan).toMatchObject({ kind: 2, attributes: { 'http.request.method': 'GET', 'url.path': `/api/connections/${id}/token`, 'broker.route': 'getToken' } });
  expect(childrenOf(tokenSpan).map((s) => s.name)).toEqual(expect.arrayContaining(['storage require', 'storage openCredentials']));
  expect(childrenOf(tokenSpan).find((s) => s.name === 'storage require')).toMatchObject({
    kind: 3,
    attributes: { 'db.system': 'azure.tables', 'broker.table': 'BrokerConnections', 'broker.operation': 'require' },
  });

  // The callback's span has its path only: the code and state in the query are not recorded.
  const callbackSpan = await eventually(async () => otlp.spans().find((s) => s.name === 'GET oauthCallback'), 20_000, 250);
  expect(callbackSpan.attributes['url.path']).toBe('/api/callback/oidc');

  // The proxied call: a client span to the provider's API under the proxy's server span.
  const proxySpan = otlp.spans().find((s) => s.name === 'GET proxy' && s.attributes['url.path'] === `/api/connections/${id}/proxy/me`)!;
  expect(childrenOf(proxySpan).find((s) => s.name === 'HTTP GET')).toMatchObject({
    attributes: { 'server.address': '127.0.0.1', 'url.path': '/api/me', 'http.response.status_code': 200, 'broker.proxied': true },
  });
  // The exchange's token request (inside an activity, under the storage and secret reads it needs).
  const tokenRequest = otlp.spans().find((s) => s.name === 'HTTP POST' && s.attributes['url.path'] === '/token');
  expect(tokenRequest).toMatchObject({ kind: 3, attributes: { 'http.request.method': 'POST' } });
  expect(otlp.spans().some((s) => s.name === 'secrets getClientSecret' && s.attributes['broker.secret_source'] === 'settings')).toBe(true);
  const refreshSpan = otlp.spans().find((s) => s.name === 'activity refreshCredentials')!;
  expect(childrenOf(refreshSpan).map((s) => s.name)).toEqual(expect.arrayContaining(['storage get', 'HTTP POST']));

  // Metrics: token reads and proxy calls by status, refreshes, lateness.
  await eventually(async () => (point('broker.proxy.calls', { 'http.response.status_code': 404 }).length > 0 ? true : undefined), 20_000, 250);
  // Counters are cumulative: the latest export counts both token reads.
  await eventually(async () => ((point('broker.token.reads', { 'http.response.status_code': 200 }).at(-1)?.value ?? 0) >= 2 ? true : undefined), 20_000, 250);
  expect(point('broker.proxy.calls', { 'http.response.status_code': 200 }).length).toBeGreaterThan(0);
  expect(point('broker.refresh.lateness', { 'broker.provider': 'oidc' }).at(-1)!.value).toBeGreaterThan(0);
  expect(point('broker.refreshes', { 'broker.provider': 'oidc', 'broker.outcome': 'transient' }).length).toBeGreaterThan(0);

  // Nothing secret anywhere: not the tokens the provider issued, not the code or state, not the keys.
  await world.broker.request('GET', '/api/ops/connections/' + id, { key: OPERATOR_KEY });
  const everything = otlp.rawBodies().join('\n');
  const issued = (await world.oidc.tokenLog()).flatMap((e) => [e.accessTokenFingerprint, e.issuedRefreshTokenFingerprint, e.idTokenFingerprint]);
  const words = everything.match(/[A-Za-z0-9_.~+/-]{16,}/g) ?? [];
  expect(words.map(tokenFingerprint).filter((f) => issued.includes(f))).toEqual([]);
  for (const secret of [token.json.accessToken, late.json.accessToken, code, state, CLIENT_KEY, OPERATOR_KEY, 'broker-secret-basic', world.encryptionKey]) {
    expect(everything).not.toContain(secret);
  }
  for (const span of otlp.spans()) {
    for (const value of Object.values(span.attributes)) expect(String(value)).not.toMatch(/[?&](code|state)=/);
  }
});
