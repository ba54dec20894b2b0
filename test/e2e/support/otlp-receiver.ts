/**
 * An in-memory OTLP/HTTP (JSON) receiver on loopback: the broker exports its traces and metrics
 * here as it would to an OpenTelemetry Collector, and tests read back every span, data point and
 * attribute.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
}
export interface ExportedPoint {
  metric: string;
  attributes: Record<string, unknown>;
  value: number;
}

export interface OtlpReceiver {
  url: string;
  spans(): ExportedSpan[];
  points(): ExportedPoint[];
  /** Every exported request body as received, for scanning. */
  rawBodies(): string[];
  stop(): Promise<void>;
}

function attributesOf(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, Object.values(value)[0]]));
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ExportedSpan[] = [];
  const points: ExportedPoint[] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text);
      const body = JSON.parse(text);
      if (req.url === '/v1/traces') {
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ ...span, attributes: attributesOf(span.attributes) });
          }
        }
      } else if (req.url === '/v1/metrics') {
        for (const resource of body.resourceMetrics ?? []) {
          for (const scope of resource.scopeMetrics ?? []) {
            for (const metric of scope.metrics ?? []) {
              for (const point of metric.sum?.dataPoints ?? []) points.push({ metric: metric.name, attributes: attributesOf(point.attributes), value: Number(point.asInt ?? point.asDouble) });
              for (const point of metric.histogram?.dataPoints ?? []) points.push({ metric: metric.name, attributes: attributesOf(point.attributes), value: Number(point.count) });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    points: () => [...points],
    rawBodies: () => [...bodies],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
