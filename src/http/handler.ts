/**
 * Wraps route handlers: a request span, authentication, the one error mapping, and a log line per
 * failure that names the invocation and never carries secrets.
 */
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { BrokerError, isBrokerError } from '../domain/errors';
import { redactText } from '../logging/redact';
import { getWiring, systemClock } from '../runtime';
import type { Runtime } from '../services/runtime';
import { noTelemetry, type Telemetry } from '../telemetry/port';
import { traceRequest } from '../telemetry/request-span';
import { errorResponse } from './errors';
import { RefusalLog } from './refusal-log';
import { CONNECTION_ID_PATTERN, presentedKey } from './request';

export interface RouteContext {
  request: HttpRequest;
  invocation: InvocationContext;
  runtime: Runtime;
}

export interface ClientRouteContext extends RouteContext {
  clientId: string;
}

/** The connection and provider a route names, when it names them (route parameters, redacted). */
function routeFields(request: HttpRequest): Record<string, string> {
  const fields: Record<string, string> = {};
  const { id, provider } = request.params;
  if (id && CONNECTION_ID_PATTERN.test(id)) fields.connectionId = id;
  if (provider) fields.provider = redactText(provider.slice(0, 64));
  return fields;
}

const refusals = new RefusalLog(systemClock);

function logFailure(invocation: InvocationContext, request: HttpRequest, error: unknown, clientId: string | undefined): void {
  let refusedSinceLastLine: number | undefined;
  if (isBrokerError(error) && error.code === 'RATE_LIMITED' && clientId !== undefined) {
    refusedSinceLastLine = refusals.count(clientId, String(error.details?.limit));
    if (refusedSinceLastLine === undefined) return;
  }
  const code = isBrokerError(error) ? error.code : 'INTERNAL';
  const status = isBrokerError(error) ? errorResponse(error).status ?? 500 : 500;
  const message = error instanceof Error ? error.message : String(error);
  const line = JSON.stringify({
    level: status >= 500 ? 'error' : 'warn',
    code,
    status,
    message: redactText(message),
    route: invocation.functionName,
    invocationId: invocation.invocationId,
    ...routeFields(request),
    ...(refusedSinceLastLine === undefined ? {} : { clientId, refusedSinceLastLine }),
  });
  if (status >= 500) invocation.error(line);
  else invocation.warn(line);
  if (!isBrokerError(error) && error instanceof Error && error.stack) invocation.error(redactText(error.stack));
}

/** Invalid settings surface as the route's error; the span is then simply not recorded. */
function telemetry(): Telemetry {
  try {
    return getWiring().telemetry;
  } catch {
    return noTelemetry;
  }
}

/** `clientId` names the client once it is authenticated (rate-limit refusals are logged per client). */
function run(invocation: InvocationContext, request: HttpRequest, body: () => Promise<HttpResponseInit>, clientId: () => string | undefined = () => undefined): Promise<HttpResponseInit> {
  return traceRequest(telemetry(), invocation.functionName, request, async () => {
    try {
      return await body();
    } catch (error) {
      logFailure(invocation, request, error, clientId());
      return errorResponse(error);
    }
  });
}

/** Anonymous routes (health, callback, public pages). */
export function anonymousRoute(handler: (ctx: RouteContext) => Promise<HttpResponseInit>): HttpHandler {
  return (request, invocation) =>
    run(invocation, request, async () => handler({ request, invocation, runtime: await getWiring().runtimeFor(invocation) }));
}

/** Client routes: a client API key is required; the handler sees only that client's id. */
export function clientRoute(handler: (ctx: ClientRouteContext) => Promise<HttpResponseInit>): HttpHandler {
  return (request, invocation) => {
    let authenticated: string | undefined;
    return run(
      invocation,
      request,
      async () => {
        const wiring = getWiring();
        const clientId = wiring.access.clientFor(presentedKey(request));
        if (!clientId) throw new BrokerError('UNAUTHORIZED', 'a valid client API key is required');
        authenticated = clientId;
        return handler({ request, invocation, clientId, runtime: await wiring.runtimeFor(invocation) });
      },
      () => authenticated,
    );
  };
}

/** Operator routes: the operator key; a client key is recognised and refused with 403. */
export function operatorRoute(handler: (ctx: RouteContext) => Promise<HttpResponseInit>): HttpHandler {
  return (request, invocation) =>
    run(invocation, request, async () => {
      const wiring = getWiring();
      const key = presentedKey(request);
      if (!wiring.access.isOperator(key)) {
        if (wiring.access.clientFor(key)) throw new BrokerError('FORBIDDEN', 'this route needs the operator key');
        throw new BrokerError('UNAUTHORIZED', 'the operator key is required');
      }
      return handler({ request, invocation, runtime: await wiring.runtimeFor(invocation) });
    });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'cache-control': 'no-store', ...headers } };
}

