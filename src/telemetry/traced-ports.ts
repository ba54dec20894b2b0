/**
 * Child spans for what a request or activity waits on, added around the Runtime's ports by the
 * composition root, so services stay unaware of telemetry: one span per storage call, per secret
 * read (Key Vault when configured) and per outbound HTTP call (providers, webhook receivers, the
 * proxy's upstream). URLs are recorded without their query.
 */
import type { HttpRequestSpec, HttpSend } from '../oauth/http';
import type { ForwardRequest } from '../proxy/forward';
import type { Attributes, Telemetry } from './port';

/** Every method of `target` (all return promises) runs inside a client span `<component> <method>`. */
export function tracedMethods<T extends object>(telemetry: Telemetry, target: T, component: string, attributes: Attributes = {}): T {
  if (!telemetry.enabled) return target;
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) =>
        telemetry.inSpan(`${component} ${property}`, 'client', { ...attributes, 'broker.operation': property }, () => Promise.resolve(value.apply(object, args)));
    },
  });
}

function requestAttributes(spec: HttpRequestSpec): Attributes {
  const url = new URL(spec.url);
  return { 'http.request.method': spec.method, 'server.address': url.hostname, 'server.port': Number(url.port) || undefined, 'url.path': url.pathname };
}

export function tracedSend(telemetry: Telemetry, send: HttpSend): HttpSend {
  if (!telemetry.enabled) return send;
  return (spec, options) =>
    telemetry.inSpan(`HTTP ${spec.method}`, 'client', requestAttributes(spec), async (span) => {
      const response = await send(spec, options);
      span.setAttributes({ 'http.response.status_code': response.status });
      return response;
    });
}

export function tracedForward(telemetry: Telemetry, forward: ForwardRequest): ForwardRequest {
  if (!telemetry.enabled) return forward;
  return (spec, stream) =>
    telemetry.inSpan(`HTTP ${spec.method}`, 'client', { ...requestAttributes(spec), 'broker.proxied': true }, async (span) => {
      const response = await forward(spec, stream);
      span.setAttributes({ 'http.response.status_code': response.status });
      return response;
    });
}
