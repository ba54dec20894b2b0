/**
 * Device authorization grant (RFC 8628) on oauth4webapi: one request for the codes, then one poll
 * of the token endpoint per call. Polling on a timer is the caller's job (the connection
 * orchestration's device phase waits `interval` seconds between polls, 5 s more after each `slow_down`).
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
import * as oauth from 'oauth4webapi';
import { authorizationServer, fromLibraryError, rawAnswerOf, requestOptions } from './library';
import { readOAuthError } from './provider-error';
import { callLibrary, clientAuth, ClientAuthentication, libraryClient, TokenCallOptions } from './token-request';
import { OAuth2TokenSet, parseTokenResponse } from './token-response';

/** RFC 8628 §3.5: wait this long between polls when the server names no interval. */
export const DEFAULT_DEVICE_POLL_INTERVAL_S = 5;

export interface DeviceAuthorizationInput extends ClientAuthentication {
  deviceAuthorizationUrl: string;
  scopes: string[];
  scopeSeparator?: string;
}

export interface DeviceAuthorization {
  /** A secret: the poll's credential. Sealed, never in durable history. */
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
  intervalSeconds: number;
}

/** @see https://www.rfc-editor.org/rfc/rfc8628#section-3.1 */
export async function startDeviceAuthorization(input: DeviceAuthorizationInput, options: TokenCallOptions = {}): Promise<DeviceAuthorization> {
  const as = authorizationServer({ deviceAuthorizationUrl: input.deviceAuthorizationUrl });
  const client = libraryClient(input);
  const parameters = new URLSearchParams(input.scopes.length > 0 ? { scope: input.scopes.join(input.scopeSeparator ?? ' ') } : {});
  try {
    const response = await oauth.deviceAuthorizationRequest(as, client, clientAuth(input), parameters, requestOptions(input.deviceAuthorizationUrl, options));
    const answer = await oauth.processDeviceAuthorizationResponse(as, client, response);
    return {
      deviceCode: answer.device_code,
      userCode: answer.user_code,
      verificationUri: answer.verification_uri,
      ...(answer.verification_uri_complete ? { verificationUriComplete: answer.verification_uri_complete } : {}),
      expiresIn: answer.expires_in,
      intervalSeconds: answer.interval ?? DEFAULT_DEVICE_POLL_INTERVAL_S,
    };
  } catch (error) {
    throw fromLibraryError(error, 'Device authorization endpoint');
  }
}

export interface DevicePollInput extends ClientAuthentication {
  tokenUrl: string;
  deviceCode: string;
  requestedScopes: string[];
  scopeSeparator?: string;
}

export type DevicePoll =
  | { kind: 'tokens'; tokens: OAuth2TokenSet }
  | { kind: 'pending' }
  | { kind: 'slow_down' }
  | { kind: 'denied' }
  | { kind: 'expired' };

/** RFC 8628 §3.5 error codes that are a state of the grant, not a failure of the request. */
const POLL_STATES: Record<string, DevicePoll['kind']> = {
  authorization_pending: 'pending',
  slow_down: 'slow_down',
  access_denied: 'denied',
  expired_token: 'expired',
};

/** One poll. Anything that is neither tokens nor a grant state throws like a token request. */
export async function pollDeviceToken(input: DevicePollInput, options: TokenCallOptions = {}): Promise<DevicePoll> {
  const response = await callLibrary(() =>
    oauth.deviceCodeGrantRequest(authorizationServer({ tokenUrl: input.tokenUrl }), libraryClient(input), clientAuth(input), input.deviceCode, {
      ...requestOptions(input.tokenUrl, options),
      DPoP: options.dpop,
    }),
  );
  const answer = rawAnswerOf(response);
  if (answer.status === 400) {
    const state = readPollState(answer.body);
    if (state) return { kind: state } as DevicePoll;
  }
  return { kind: 'tokens', tokens: parseTokenResponse(answer.status, answer.headers, answer.body, input) };
}

function readPollState(body: Buffer): DevicePoll['kind'] | undefined {
  try {
    const fields = readOAuthError(JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    return fields ? POLL_STATES[fields.error] : undefined;
  } catch {
    return undefined;
  }
}
