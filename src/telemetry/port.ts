/**
 * The telemetry port: spans and metrics in the broker's own terms. Services and adapters use only
 * this; src/telemetry/otel.ts is the one module that imports OpenTelemetry, and the composition root
 * (src/runtime.ts) picks it or the no-op below from the settings (off unless configured).
 *
 * Attribute values pass through {@link safeAttributes}: redacted, cut short, and never a URL query.
 */
import { redactText } from '../logging/redact';

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue | undefined>;

/** The broker's metrics (docs/configuration.md, "Telemetry"). */
export const Metrics = {
  /** Counter: refresh activity runs, by `broker.provider` and `broker.outcome`. */
  refreshes: 'broker.refreshes',
  /** Counter: refreshes that did not refresh, by `broker.provider` and `broker.error.code`. */
  refreshFailures: 'broker.refresh.failures',
  /** Histogram (s): how long after its latest due time a refresh ran (0 when on time). */
  refreshLateness: 'broker.refresh.lateness',
  /** Counter: `GET /connections/{id}/token` answers, by `http.response.status_code`. */
  tokenReads: 'broker.token.reads',
  /** Counter: proxied calls, by `http.response.status_code` (the provider's, or the broker's refusal). */
  proxyCalls: 'broker.proxy.calls',
} as const;
export type MetricName = (typeof Metrics)[keyof typeof Metrics];

export type SpanKind = 'server' | 'client' | 'internal';

export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed with the broker's stable code (never a message: messages may quote input). */
  fail(code: string): void;
}

export interface Telemetry {
  readonly enabled: boolean;
  /** Runs `fn` inside a span, a child of the span current in this async context. */
  inSpan<T>(name: string, kind: SpanKind, attributes: Attributes, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  count(metric: MetricName, value: number, attributes?: Attributes): void;
  record(metric: MetricName, value: number, attributes?: Attributes): void;
  /** Exports what is buffered (before a process exits, and in tests). */
  flush(): Promise<void>;
}

const NO_SPAN: SpanHandle = { setAttributes: () => undefined, fail: () => undefined };

export const noTelemetry: Telemetry = {
  enabled: false,
  inSpan: (_name, _kind, _attributes, fn) => fn(NO_SPAN),
  count: () => undefined,
  record: () => undefined,
  flush: async () => undefined,
};

const MAX_ATTRIBUTE_CHARS = 256;

/** Redacted, short, defined values only; strings that look like URLs lose query and fragment. */
export function safeAttributes(attributes: Attributes): Record<string, AttributeValue> {
  const safe: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    safe[name] = typeof value === 'string' ? redactText(withoutQuery(value)).slice(0, MAX_ATTRIBUTE_CHARS) : value;
  }
  return safe;
}

/** `https://host/path?code=…#…` → `https://host/path`; `/api/callback/x?state=…` → `/api/callback/x`. */
export function withoutQuery(text: string): string {
  return /^(https?:\/\/|\/)/i.test(text) ? text.replace(/[?#].*$/s, '') : text;
}
