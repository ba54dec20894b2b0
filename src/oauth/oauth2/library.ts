/**
 * The plumbing between the broker and panva's oauth4webapi (OpenID-certified): its HTTP goes
 * through the broker's outbound port (`dispatch`, so an injected `send`) by `customFetch`, plain http is
 * allowed only for loopback hosts (the broker's own URL rule), and its errors become BrokerErrors
 * with stable codes. Provider tolerance lives in the broker's parse step, which hands the library
 * a conform answer; the library never sees a raw body it would reject for a known quirk.
 */
import * as oauth from 'oauth4webapi';
import { isLoopbackHostname } from '../../config/url-rules';
import { BrokerError, ErrorCode } from '../../domain/errors';
import { dispatch, HttpRequestSpec, HttpResponse, SendOptions } from '../http';
import { isUnavailableStatus, oauthErrorToBrokerError, unavailableError } from './provider-error';

/** How a library call reaches the network: the broker's port (`send`) and its timeout. */
export type TransportOptions = SendOptions;

/** Endpoints and identity of the authorization server, as the provider definition (or discovery) gives them. */
export interface ServerEndpoints {
  /** The issuer identifier; undefined when the provider is configured by endpoints only. */
  issuer?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  introspectionUrl?: string;
  jwksUrl?: string;
  parUrl?: string;
  deviceAuthorizationUrl?: string;
}

/**
 * The library requires an issuer even where it validates nothing issuer-bound; endpoint-only
 * providers get this marker, and their id_tokens are never handed to the library.
 */
const UNKNOWN_ISSUER = 'urn:durable-oauth-broker:issuer-not-configured';

export function authorizationServer(endpoints: ServerEndpoints): oauth.AuthorizationServer {
  return {
    issuer: endpoints.issuer ?? UNKNOWN_ISSUER,
    authorization_endpoint: endpoints.authorizationUrl,
    token_endpoint: endpoints.tokenUrl,
    revocation_endpoint: endpoints.revocationUrl,
    introspection_endpoint: endpoints.introspectionUrl,
    jwks_uri: endpoints.jwksUrl,
    pushed_authorization_request_endpoint: endpoints.parUrl,
    device_authorization_endpoint: endpoints.deviceAuthorizationUrl,
  };
}

/**
 * Options for one library call: route through the broker's port, and allow http only when the
 * target is a loopback host (the broker's URL rule already refused remote http at start-up).
 */
export function requestOptions(targetUrl: string, transport: TransportOptions = {}): { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]?: boolean } {
  return {
    [oauth.customFetch]: brokerFetch(transport),
    ...(isLoopbackHttp(targetUrl) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}

export function isLoopbackHttp(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && isLoopbackHostname(parsed.hostname);
  } catch {
    return false;
  }
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** The raw answer behind a Response the port produced, so the broker's parser reads bytes as sent. */
const rawAnswers = new WeakMap<Response, HttpResponse>();

export function rawAnswerOf(response: Response): HttpResponse {
  const raw = rawAnswers.get(response);
  if (!raw) throw new BrokerError('INTERNAL', 'response did not come through the broker HTTP port');
  return raw;
}

/** A `fetch` for the library's `customFetch` that sends through the broker's port. */
function brokerFetch(transport: TransportOptions): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    // The media type defines no parameters (its registration says so); the library adds
    // ";charset=UTF-8", which the broker never sent and some providers refuse.
    if (/^application\/x-www-form-urlencoded;/i.test(headers['content-type'] ?? '')) headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body);
    const answer = await dispatch({ url, method: (init?.method ?? 'GET') as HttpRequestSpec['method'], headers, body }, transport);
    const response = new Response(NULL_BODY_STATUSES.has(answer.status) ? null : new Uint8Array(answer.body), {
      status: answer.status,
      headers: answer.headers,
    });
    rawAnswers.set(response, answer);
    return response;
  }) as typeof fetch;
}

/** Library failures that mean "the provider's answer is wrong", by the library's own codes. */
const CODE_BY_LIBRARY_CODE: Record<string, ErrorCode> = {
  [oauth.JWT_CLAIM_COMPARISON]: 'ID_TOKEN_INVALID',
  [oauth.JWT_TIMESTAMP_CHECK]: 'ID_TOKEN_INVALID',
  [oauth.KEY_SELECTION]: 'ID_TOKEN_INVALID',
  [oauth.INVALID_SERVER_METADATA]: 'PROVIDER_METADATA_INVALID',
  [oauth.MISSING_SERVER_METADATA]: 'PROVIDER_METADATA_INVALID',
  [oauth.JSON_ATTRIBUTE_COMPARISON]: 'PROVIDER_METADATA_INVALID',
};

/**
 * A BrokerError for anything the library threw. `what` names the step ("ID token", "Discovery
 * document"); library messages name fields, never values, so they are kept.
 */
export function fromLibraryError(error: unknown, what: string, fallback: ErrorCode = 'OAUTH_INVALID_RESPONSE'): BrokerError {
  if (error instanceof BrokerError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    const fields = { error: error.error, errorDescription: error.error_description };
    if (isUnavailableStatus(error.status)) return unavailableError(what, error.status, Object.fromEntries(error.response.headers), fields);
    return oauthErrorToBrokerError(what, fields, error.status);
  }
  const libraryCode = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const code = (libraryCode === undefined ? undefined : CODE_BY_LIBRARY_CODE[libraryCode]) ?? fallback;
  // Signature failures are plain errors from WebCrypto verification inside the library.
  const message = error instanceof Error ? error.message : 'failed';
  return new BrokerError(code, `${what}: ${message}`, { details: libraryCode ? { libraryCode } : undefined });
}
