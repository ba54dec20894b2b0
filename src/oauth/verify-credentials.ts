/**
 * Health probe for credentials that do not expire: one call to the provider's `verifyUrl` with
 * the connection's credentials. 2xx → working; 401/403 → revoked at the provider; anything else
 * (5xx, 429, timeouts, other statuses) says nothing about the credentials and is `unknown`.
 */
import { isBrokerError } from '../domain/errors';
import type { VerifyMethod } from '../providers/types';
import type { OAuth1Credentials, OAuth2Credentials } from '../storage/credentials';
import { dispatch, SendOptions } from './http';
import { asksForDpopNonce } from './oauth2/dpop';
import { OAuth1ClientConfig, sendSignedRequest } from './oauth1/signed-request';

export type ProbeVerdict = { kind: 'ok' } | { kind: 'revoked'; status: number } | { kind: 'unknown'; status?: number; errorCode?: string };

export interface ProbeTarget {
  verifyUrl: string;
  verifyMethod?: VerifyMethod;
}

/** Makes a DPoP proof for one request (src/oauth/oauth2/dpop.ts `proofMaker`). */
export type DpopProofMaker = (method: string, url: string, accessToken?: string) => string;

/**
 * A DPoP-bound token goes with the DPoP scheme and a proof (`dpopProof`); a server asking for a
 * nonce is asked once more, so a nonce challenge is never mistaken for a revoked grant.
 */
export async function probeOAuth2Credentials(target: ProbeTarget, credentials: OAuth2Credentials, options?: SendOptions, dpopProof?: DpopProofMaker): Promise<ProbeVerdict> {
  const method = target.verifyMethod ?? 'GET';
  const bound = dpopProof !== undefined && credentials.tokenType.toLowerCase() === 'dpop';
  const send = () =>
    dispatch(
      {
        url: target.verifyUrl,
        method,
        headers: {
          authorization: `${bound ? 'DPoP' : credentials.tokenType} ${credentials.accessToken}`,
          accept: 'application/json',
          ...(bound ? { dpop: dpopProof(method, target.verifyUrl, credentials.accessToken) } : {}),
        },
      },
      options,
    );
  return judge(async () => {
    const first = await send();
    return bound && asksForDpopNonce(first.status, first.headers) ? send() : first;
  });
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
