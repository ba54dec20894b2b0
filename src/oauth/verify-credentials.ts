/**
 * Health probe for credentials that do not expire: one call to the provider's `verifyUrl` with
 * the connection's credentials. 2xx → working; 401/403 → revoked at the provider; anything else
 * (5xx, 429, timeouts, other statuses) says nothing about the credentials and is `unknown`.
 */
import { isBrokerError } from '../domain/errors';
import type { VerifyMethod } from '../providers/types';
import type { OAuth1Credentials, OAuth2Credentials } from '../storage/credentials';
import { dispatch, SendOptions } from './http';
import { OAuth1ClientConfig, sendSignedRequest } from './oauth1/signed-request';

export type ProbeVerdict = { kind: 'ok' } | { kind: 'revoked'; status: number } | { kind: 'unknown'; status?: number; errorCode?: string };

export interface ProbeTarget {
  verifyUrl: string;
  verifyMethod?: VerifyMethod;
}

export async function probeOAuth2Credentials(target: ProbeTarget, credentials: OAuth2Credentials, options?: SendOptions): Promise<ProbeVerdict> {
  return judge(() =>
    dispatch(
      { url: target.verifyUrl, method: target.verifyMethod ?? 'GET', headers: { authorization: `${credentials.tokenType} ${credentials.accessToken}`, accept: 'application/json' } },
      options,
    ),
  );
}

export async function probeOAuth1Credentials(
  target: ProbeTarget,
  client: OAuth1ClientConfig,
  credentials: OAuth1Credentials,
  options?: SendOptions,
): Promise<ProbeVerdict> {
  return judge(() =>
    sendSignedRequest(
      client,
      { method: target.verifyMethod ?? 'GET', url: target.verifyUrl, token: { token: credentials.oauthToken, tokenSecret: credentials.oauthTokenSecret } },
      options,
    ),
  );
}

async function judge(call: () => Promise<{ status: number }>): Promise<ProbeVerdict> {
  try {
    const { status } = await call();
    if (status >= 200 && status < 300) return { kind: 'ok' };
    if (status === 401 || status === 403) return { kind: 'revoked', status };
    return { kind: 'unknown', status };
  } catch (error) {
    return { kind: 'unknown', errorCode: isBrokerError(error) ? error.code : 'INTERNAL' };
  }
}
