/**
 * One authorization flow, two ways: through the broker (POST /connections → consent at the provider
 * over HTTP → the broker's callback → `connected`), and directly by a plain OAuth client against the
 * same provider (PKCE authorization URL → consent → token exchange). Both drive the same consent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { completeConsent } from '../../test/support/oidc/complete-consent';
import { tokenFingerprint } from '../../test/support/oidc/start-oidc-provider';
import { BenchWorld, CLIENT_KEY, DIRECT_CLIENT, PROVIDER, RETURN_URL } from './bench-world';

export interface BrokerFlowResult {
  connectionId: string;
  ms: number;
  status: string;
  /** Fingerprint of the authorization code, as the provider's token log records it. */
  codeFingerprint?: string;
  /** Where the time went: POST /connections, consent at the provider, callback, polling until connected. */
  phasesMs?: { start: number; consent: number; callback: number; untilConnected: number };
}

const CONNECTED_WAIT_MS = 60_000;

/** `mark` is called as each phase ends (the storage bench counts requests per phase with it). */
export async function brokerFlow(world: BenchWorld, connectionId: string, account: string, mark: (phase: string) => void = () => undefined): Promise<BrokerFlowResult> {
  const t0 = performance.now();
  const started = await world.broker.request('POST', '/api/connections', {
    key: CLIENT_KEY,
    body: { provider: PROVIDER, connectionId, returnTo: RETURN_URL },
  });
  if (started.status !== 201) throw new Error(`POST /connections answered ${started.status}: ${started.text.slice(0, 200)}`);
  const t1 = performance.now();
  mark('start');
  const callbackUrl = await completeConsent(started.json.authorizationUrl, { account, approve: true });
  const code = new URL(callbackUrl).searchParams.get('code') ?? undefined;
  const t2 = performance.now();
  mark('consent');
  const callback = await world.broker.request('GET', callbackUrl);
  const t3 = performance.now();
  mark('callback');
  let status = callback.headers.get('location') ? new URL(callback.headers.get('location')!).searchParams.get('status') ?? '' : '';
  const deadline = Date.now() + CONNECTED_WAIT_MS;
  while (status !== 'connected' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    status = (await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY })).json?.status ?? '';
  }
  const t4 = performance.now();
  mark('untilConnected');
  return {
    connectionId,
    ms: t4 - t0,
    status,
    codeFingerprint: code ? tokenFingerprint(code) : undefined,
    phasesMs: { start: t1 - t0, consent: t2 - t1, callback: t3 - t2, untilConnected: t4 - t3 },
  };
}

const base64url = (b: Buffer) => b.toString('base64url');

export async function directFlow(world: BenchWorld, account: string): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const verifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const authorizationUrl = new URL(world.oidc.url('/auth'));
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: DIRECT_CLIENT.clientId,
    redirect_uri: DIRECT_CLIENT.redirectUri,
    scope: 'openid read',
    state,
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();
  const callback = new URL(await completeConsent(authorizationUrl.toString(), { account, approve: true }));
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error('direct flow: no code or wrong state');
  const response = await fetch(world.oidc.url('/token'), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${DIRECT_CLIENT.clientId}:${DIRECT_CLIENT.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: DIRECT_CLIENT.redirectUri, code_verifier: verifier }).toString(),
  });
  const tokens = (await response.json()) as { access_token?: unknown };
  return { ms: performance.now() - t0, ok: response.status === 200 && typeof tokens.access_token === 'string' };
}
