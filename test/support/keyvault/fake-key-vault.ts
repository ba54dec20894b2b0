import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A local HTTPS server speaking the subset of the Key Vault secrets REST API the SDK uses
 * (challenge-based auth, get secret [version], list versions), with a self-signed certificate
 * for 127.0.0.1 made by the openssl CLI. Clients trust it through SecretClient `tlsOptions.ca`.
 *
 * @see https://learn.microsoft.com/rest/api/keyvault/secrets/get-secret/get-secret
 * @see https://learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses
 */
export interface FakeKeyVault {
  url: string;
  /** PEM of the self-signed certificate, to trust. */
  caPem: string;
  /** The bearer token the server accepts. */
  token: string;
  /** Requests received: method, path with query, Authorization header. */
  requests: Array<{ method: string; path: string; authorization?: string }>;
  /** Adds a version (the newest is "latest"); returns its id. */
  addVersion(name: string, value: string, options?: { enabled?: boolean }): string;
  close(): Promise<void>;
}

interface Version {
  version: string;
  value: string;
  enabled: boolean;
}

export async function startFakeKeyVault(token = 'fake-key-vault-token'): Promise<FakeKeyVault> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kv-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const caPem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const keyPem = readFileSync(join(dir, 'key.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });

  const secrets = new Map<string, Version[]>();
  const requests: FakeKeyVault['requests'] = [];
  let counter = 0;
  let base = '';

  const server: Server = createServer({ cert: caPem, key: keyPem }, (req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    req.resume();
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        send(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
          'www-authenticate': 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
        });
        return;
      }
      const url = new URL(req.url ?? '/', base);
      if (!url.searchParams.get('api-version')) return send(400, { error: { code: 'BadParameter', message: 'api-version missing' } });
      const match = /^\/secrets\/([0-9a-zA-Z-]+)(?:\/([^/]*))?\/?$/.exec(url.pathname);
      const versions = match ? secrets.get(match[1]) : undefined;
      const notFound = () => send(404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${match?.[1]} was not found in this key vault.` } });
      if (!match || !versions) return notFound();
      const [, name, second] = match;
      const attributes = (v: Version) => ({ enabled: v.enabled, created: 1700000000, updated: 1700000000, recoveryLevel: 'Recoverable' });
      if (second === 'versions') {
        return send(200, { value: versions.map((v) => ({ id: `${base}/secrets/${name}/${v.version}`, attributes: attributes(v) })), nextLink: null });
      }
      const found = second ? versions.find((v) => v.version === second) : versions.filter((v) => v.enabled).at(-1);
      if (!found) return notFound();
      send(200, { value: found.value, id: `${base}/secrets/${name}/${found.version}`, attributes: attributes(found) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    caPem,
    token,
    requests,
    addVersion(name, value, options = {}) {
      counter += 1;
      const version = `${counter.toString(16).padStart(8, '0')}${'0'.repeat(24)}`;
      secrets.set(name, [...(secrets.get(name) ?? []), { version, value, enabled: options.enabled ?? true }]);
      return version;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
