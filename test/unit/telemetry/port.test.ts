import { loadConfig } from '../../../src/config';
import { createWiring } from '../../../src/runtime';
import { safeAttributes, withoutQuery } from '../../../src/telemetry/port';

describe('telemetry attributes', () => {
  test('URLs and paths lose their query and fragment, where codes and states travel', () => {
    expect(withoutQuery('/api/callback/oidc?code=abc&state=xyz')).toBe('/api/callback/oidc');
    expect(withoutQuery('https://id.example/authorize?state=s#frag')).toBe('https://id.example/authorize');
    expect(withoutQuery('not a url?really')).toBe('not a url?really');
  });

  test('values are redacted and cut short; undefined values are dropped; numbers and booleans stay', () => {
    const safe = safeAttributes({ a: 'Bearer abc.def.ghi', b: 'x'.repeat(300), c: 200, d: true, e: undefined, f: 'access_token=tok123' });
    expect(safe).toEqual({ a: 'Bearer [REDACTED]', b: 'x'.repeat(256), c: 200, d: true, f: 'access_token=[REDACTED]' });
  });
});

describe('telemetry settings', () => {
  test('off unless an OTLP endpoint is set; then on with the defaults', () => {
    expect(loadConfig({}).telemetry).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).telemetry).toEqual({
      endpoint: 'http://127.0.0.1:4318',
      serviceName: 'durable-oauth-broker',
      metricExportIntervalMs: 60_000,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', BROKER_TELEMETRY: 'off' }).telemetry).toBeUndefined();
  });

  test('the composition root wires the no-op telemetry when nothing is configured', () => {
    const wiring = createWiring(loadConfig({ BROKER_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }), {});
    expect(wiring.telemetry.enabled).toBe(false);
  });

  test.each([
    [{ BROKER_TELEMETRY: 'otlp' }, 'BROKER_TELEMETRY', 'OTEL_EXPORTER_OTLP_ENDPOINT is not set'],
    [{ BROKER_TELEMETRY: 'yes' }, 'BROKER_TELEMETRY', 'must be "off" or "otlp"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'absolute http(s) URL'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_METRIC_EXPORT_INTERVAL: '0' }, 'OTEL_METRIC_EXPORT_INTERVAL', 'positive integer'],
  ])('when %j, then CONFIG_INVALID names %s', (env, setting, problem) => {
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(problem) }));
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${setting}`));
  });
});
