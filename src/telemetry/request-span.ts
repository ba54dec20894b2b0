/**
 * One server span per HTTP request, named after the function (the route template's owner), with
 * the path but never the query (a callback's query carries the authorization code and state), the
 * status, and the broker's error code when the answer is an error. Token reads and proxied calls are
 * also counted by status.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { Metrics, type MetricName, type Telemetry } from './port';

/** Function names (src/functions/http-*.ts) whose answers are counted. */
const COUNTED_ROUTES: Readonly<Record<string, MetricName>> = { getToken: Metrics.tokenReads, proxy: Metrics.proxyCalls };

function errorCodeOf(response: HttpResponseInit): string | undefined {
  const body = response.jsonBody as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

export function traceRequest(telemetry: Telemetry, functionName: string, request: Pick<HttpRequest, 'method' | 'url'>, handle: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  const attributes = { 'http.request.method': request.method, 'url.scheme': url.protocol.replace(':', ''), 'url.path': url.pathname, 'broker.route': functionName };
  return telemetry.inSpan(`${request.method} ${functionName}`, 'server', attributes, async (span) => {
    const response = await handle();
    const status = response.status ?? 200;
    span.setAttributes({ 'http.response.status_code': status });
    const code = errorCodeOf(response);
    if (code !== undefined && status >= 500) span.fail(code);
    else if (code !== undefined) span.setAttributes({ 'broker.error.code': code });
    const metric = COUNTED_ROUTES[functionName];
    if (metric) telemetry.count(metric, 1, { 'http.response.status_code': status });
    return response;
  });
}
