/**
 * A token endpoint that rotates refresh tokens the way strict providers do: each refresh token is
 * good once; presenting a used one is answered `invalid_grant` and, with reuse detection on, also
 * revokes the token that replaced it (RFC 9700 §4.14.2). Requests can be held at a gate so a test
 * decides when each answer goes out (no sleeping).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RotatingTokenEndpoint {
  url: string;
  /** The refresh token the provider would accept now (undefined once the grant is revoked). */
  readonly valid: string | undefined;
  /** Every refresh token presented, in arrival order. */
  readonly presented: readonly string[];
  /** Holds the next `count` requests until `release()`; resolves `arrived` when the first is held. */
  hold(count?: number): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

export async function startRotatingTokenEndpoint(options: { initial: string; reuseDetection: boolean; expiresIn?: number }): Promise<RotatingTokenEndpoint> {
  let valid: string | undefined = options.initial;
  let generation = 1;
  const presented: string[] = [];
  let held = 0;
  let onArrive: (() => void) | undefined;
  let gate: Promise<void> = Promise.resolve();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const token = form.get('refresh_token') ?? '';
      presented.push(token);
      if (held > 0) {
        held -= 1;
        onArrive?.();
        await gate;
      }
      res.setHeader('content-type', 'application/json');
      res.setHeader('cache-control', 'no-store');
      if (token !== valid || valid === undefined) {
        if (options.reuseDetection) valid = undefined;
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'refresh token already used or revoked' }));
        return;
      }
      generation += 1;
      valid = `rt-${generation}`;
      res.end(JSON.stringify({ access_token: `at-${generation}`, token_type: 'Bearer', expires_in: options.expiresIn ?? 3600, refresh_token: valid }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return {
    url,
    get valid() {
      return valid;
    },
    presented,
    hold(count = 1) {
      held = count;
      let release!: () => void;
      gate = new Promise<void>((resolve) => (release = resolve));
      const arrived = new Promise<void>((resolve) => (onArrive = resolve));
      return { arrived, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
