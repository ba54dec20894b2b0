/**
 * A resource server on loopback that accepts only DPoP-bound access tokens with a valid proof
 * (RFC 9449 §7): the proof's signature by its embedded key, `typ`, `htm`, `htu`, `ath` and the
 * server's own nonce (§9, a different one from the authorization server's), and the token's
 * binding (`cnf.jkt` from oidc-provider's introspection) to that key.
 */
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DpopResourceLogEntry {
  method: string;
  path: string;
  /** `ok`, or why the request was refused. */
  outcome: string;
}

export interface DpopResourceServer {
  url(pathname: string): string;
  log: DpopResourceLogEntry[];
  stop(): Promise<void>;
}

export interface DpopResourceOptions {
  /** Asked at each request: the authorization server may start after this server. */
  introspectionUrl: () => string;
  /** Client credentials for introspection. */
  clientId: string;
  clientSecret: string;
}

const b64uJson = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

export async function startDpopResourceServer(options: DpopResourceOptions): Promise<DpopResourceServer> {
  const nonce = randomBytes(16).toString('base64url');
  const log: DpopResourceLogEntry[] = [];
  let origin = '';

  const refuse = (res: ServerResponse, entry: Omit<DpopResourceLogEntry, 'outcome'>, outcome: string, error = 'invalid_token') => {
    log.push({ ...entry, outcome });
    const headers: Record<string, string> = { 'www-authenticate': `DPoP error="${error}", algs="ES256"`, 'content-type': 'application/json' };
    if (error === 'use_dpop_nonce') headers['dpop-nonce'] = nonce;
    res.writeHead(401, headers).end(JSON.stringify({ error }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    const entry = { method: req.method ?? '', path: url.pathname };
    const token = /^DPoP (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const proof = req.headers.dpop;
    if (!token || typeof proof !== 'string') return refuse(res, entry, 'no DPoP token or proof');
    const [headerPart, payloadPart, signature] = proof.split('.');
    const header = b64uJson(headerPart);
    const payload = b64uJson(payloadPart);
    if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256' || header.jwk?.d !== undefined) return refuse(res, entry, 'bad proof header');
    const key = createPublicKey({ key: header.jwk, format: 'jwk' });
    if (!verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))) {
      return refuse(res, entry, 'bad signature');
    }
    if (payload.htm !== req.method) return refuse(res, entry, 'htm mismatch');
    if (payload.htu !== `${origin}${url.pathname}`) return refuse(res, entry, 'htu mismatch');
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) return refuse(res, entry, 'ath mismatch');
    if (payload.nonce !== nonce) return refuse(res, entry, 'nonce needed', 'use_dpop_nonce');
    const { crv, kty, x, y } = header.jwk;
    const thumbprint = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
    const introspection = await fetch(options.introspectionUrl(), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token }).toString(),
    });
    const info = (await introspection.json()) as { active?: boolean; sub?: string; cnf?: { jkt?: string } };
    if (!info.active) return refuse(res, entry, 'token inactive');
    if (info.cnf?.jkt !== thumbprint) return refuse(res, entry, 'token bound to another key');
    log.push({ ...entry, outcome: 'ok' });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: info.sub, method: req.method }));
  };

  const server = createServer((req, res) => {
    req.resume();
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (pathname) => new URL(pathname, origin).toString(),
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
