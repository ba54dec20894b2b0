import { BrokerError } from '../../domain/errors';
import type { OAuth1ParameterPlacement } from '../../providers/types';
import { HttpRequestSpec, HttpResponse, SendOptions, dispatch } from '../http';
import {
  authorizationHeaderValue,
  encodeParams,
  OAuth1ConsumerCredentials,
  OAuth1Param,
  OAuth1SigningInput,
  OAuth1TokenCredentials,
  signOAuth1Request,
} from './sign';

/** What a provider needs from the client, as plain values (not a whole provider definition). */
export interface OAuth1ClientConfig extends OAuth1ConsumerCredentials {
  /** Where protocol parameters travel (RFC 5849 §3.5); `header` unless the provider needs otherwise. */
  placement?: OAuth1ParameterPlacement;
  /** `realm` for the Authorization header (§3.5.1); never signed. */
  realm?: string;
}

/** Values that are normally generated, fixed for known-answer tests. */
export type SigningOverrides = Pick<OAuth1SigningInput, 'nonce' | 'timestamp' | 'includeVersion'>;

/** Any request to sign with the client's (and optionally token) credentials. */
export interface OAuth1RequestInput {
  method: HttpRequestSpec['method'];
  /** Absolute URL, query included; the query is signed. */
  url: string;
  headers?: Record<string, string>;
  /** Signed only when `Content-Type` is `application/x-www-form-urlencoded` (§3.4.1.3.1). */
  body?: string | Buffer;
  token?: OAuth1TokenCredentials;
}

/** A built request plus the base string it was signed over (for contract tests and diagnostics). */
export interface SignedOAuth1Request extends HttpRequestSpec {
  signatureBaseString: string;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Builds a signed request (pure apart from the generated nonce and timestamp): signs method, URL
 * query, form body and protocol parameters, then places the protocol parameters in the
 * Authorization header, the query or the form body.
 * @see https://www.rfc-editor.org/rfc/rfc5849#section-3.5
 */
export function buildSignedRequest(
  client: OAuth1ClientConfig,
  input: OAuth1RequestInput,
  overrides: SigningOverrides = {},
): SignedOAuth1Request {
  return buildOAuth1Request(client, input, {}, overrides);
}

/** Builds and sends a signed request; the provider's answer comes back whatever its status. */
export async function sendSignedRequest(
  client: OAuth1ClientConfig,
  input: OAuth1RequestInput,
  options?: SendOptions,
): Promise<HttpResponse> {
  return dispatch(buildSignedRequest(client, input), options);
}

/** Shared by the three legs, which add their own protocol parameters (`oauth_callback`, `oauth_verifier`). */
export function buildOAuth1Request(
  client: OAuth1ClientConfig,
  input: OAuth1RequestInput,
  protocolParams: Record<string, string>,
  overrides: SigningOverrides,
): SignedOAuth1Request {
  const placement = client.placement ?? 'header';
  const headers = { ...(input.headers ?? {}) };
  const contentTypeName = Object.keys(headers).find((name) => name.toLowerCase() === 'content-type');
  const isForm = contentTypeName !== undefined && isFormContentType(headers[contentTypeName]);
  const bodyText = input.body === undefined ? undefined : input.body.toString();
  if (placement === 'body') assertBodyPlacementPossible(input.method, input.body, contentTypeName, isForm);

  const formParams: OAuth1Param[] = isForm && bodyText ? [...new URLSearchParams(bodyText)] : [];
  const { oauthParams, baseString } = signOAuth1Request(client, {
    method: input.method,
    url: input.url,
    formParams,
    protocolParams,
    token: input.token,
    ...overrides,
  });

  const request: SignedOAuth1Request = {
    url: input.url,
    method: input.method,
    headers,
    body: input.body,
    signatureBaseString: baseString,
  };
  if (placement === 'header') {
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name];
    headers.Authorization = authorizationHeaderValue(oauthParams, client.realm);
  } else if (placement === 'query') {
    const url = new URL(input.url);
    url.hash = '';
    url.search = `${url.search ? `${url.search}&` : '?'}${encodeParams(oauthParams)}`;
    request.url = url.toString();
  } else {
    request.body = bodyText ? `${bodyText}&${encodeParams(oauthParams)}` : encodeParams(oauthParams);
    if (contentTypeName === undefined) headers['Content-Type'] = FORM_CONTENT_TYPE;
  }
  return request;
}

function isFormContentType(value: string | undefined): boolean {
  return value !== undefined && value.split(';')[0].trim().toLowerCase() === FORM_CONTENT_TYPE;
}

/** §3.5.2: body placement only works for a single-part form body on a method that carries one. */
function assertBodyPlacementPossible(
  method: string,
  body: string | Buffer | undefined,
  contentTypeName: string | undefined,
  isForm: boolean,
): void {
  if (METHODS_WITHOUT_BODY.has(method)) {
    throw new BrokerError('INVALID_REQUEST', `OAuth 1.0a body placement cannot be used with ${method}`);
  }
  const hasBody = body !== undefined && body.length > 0;
  if ((hasBody || contentTypeName !== undefined) && !isForm) {
    throw new BrokerError('INVALID_REQUEST', 'OAuth 1.0a body placement needs an application/x-www-form-urlencoded body');
  }
}
