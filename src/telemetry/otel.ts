/**
 * OpenTelemetry behind the telemetry port: traces and metrics exported over OTLP/HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (an OpenTelemetry Collector, or any OTLP backend; Azure Monitor
 * through the collector's exporter). The only module that imports `@opentelemetry/*`.
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import { context, type Span, SpanKind as OtelSpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { type Attributes, type MetricName, Metrics, safeAttributes, type SpanKind, type Telemetry } from './port';

export interface OtelSettings {
  /** Base URL; traces go to `/v1/traces`, metrics to `/v1/metrics`. */
  endpoint: string;
  serviceName: string;
  metricExportIntervalMs: number;
}

const KINDS: Record<SpanKind, OtelSpanKind> = { server: OtelSpanKind.SERVER, client: OtelSpanKind.CLIENT, internal: OtelSpanKind.INTERNAL };
const HISTOGRAMS: ReadonlySet<MetricName> = new Set([Metrics.refreshLateness]);

export function createOtelTelemetry(settings: OtelSettings): Telemetry {
  const endpoint = settings.endpoint.replace(/\/+$/, '');
  const resource = resourceFromAttributes({ 'service.name': settings.serviceName });
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), { scheduledDelayMillis: 1_000 })],
  });
  // Registers the AsyncLocalStorage context manager, so child spans find their request's span.
  tracerProvider.register();
  const meterProvider = new MeterProvider({
    resource,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: `${endpoint}/v1/metrics` }),
        exportIntervalMillis: settings.metricExportIntervalMs,
      }),
    ],
  });
  const tracer = tracerProvider.getTracer('durable-oauth-broker');
  const meter = meterProvider.getMeter('durable-oauth-broker');
  const counters = new Map<MetricName, ReturnType<typeof meter.createCounter>>();
  const histograms = new Map<MetricName, ReturnType<typeof meter.createHistogram>>();
  const counter = (name: MetricName) => counters.get(name) ?? counters.set(name, meter.createCounter(name)).get(name)!;
  const histogram = (name: MetricName) => histograms.get(name) ?? histograms.set(name, meter.createHistogram(name, { unit: 's' })).get(name)!;

  return {
    enabled: true,
    inSpan(name, kind, attributes, fn) {
      return tracer.startActiveSpan(name, { kind: KINDS[kind], attributes: safeAttributes(attributes) }, context.active(), async (span: Span) => {
        try {
          return await fn({
            setAttributes: (more: Attributes) => span.setAttributes(safeAttributes(more)),
            fail: (code: string) => {
              span.setAttributes(safeAttributes({ 'broker.error.code': code }));
              span.setStatus({ code: SpanStatusCode.ERROR, message: code });
            },
          });
        } catch (error) {
          const code = typeof (error as { code?: unknown }).code === 'string' ? String((error as { code: string }).code) : 'INTERNAL';
          span.setAttributes(safeAttributes({ 'broker.error.code': code }));
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          throw error;
        } finally {
          span.end();
        }
      });
    },
    count(name, value, attributes = {}) {
      if (HISTOGRAMS.has(name)) throw new Error(`${name} is a histogram`);
      counter(name).add(value, safeAttributes(attributes));
    },
    record(name, value, attributes = {}) {
      if (!HISTOGRAMS.has(name)) throw new Error(`${name} is a counter`);
      histogram(name).record(value, safeAttributes(attributes));
    },
    async flush() {
      await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
    },
  };
}

