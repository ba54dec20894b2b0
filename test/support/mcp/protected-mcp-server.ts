/**
 * A remote MCP server protected by OAuth, as the MCP authorization spec describes one: built with the
 * official SDK (Streamable HTTP, stateless), it answers requests without a valid token with 401 and
 * `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728 §5.1), serves its protected resource
 * metadata at the well-known URL, and accepts only tokens its authorization server's introspection
 * (RFC 7662) says are active and issued for this resource (RFC 8707 audience).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface ProtectedMcpServer {
  /** The MCP endpoint, which is also the protected resource identifier. */
  url: string;
  /** Points the server at its authorization server (known only after that server started). */
  protect(options: { issuer: string; introspectionUrl: string; clientId: string; clientSecret: string; scopes: string[] }): void;
  /** Tokens presented, and whether each was accepted (no token values). */
  calls: Array<{ authorized: boolean; audience?: unknown }>;
  close(): Promise<void>;
}

const PRM_PATH = '/.well-known/oauth-protected-resource/mcp';

export async function startProtectedMcpServer(): Promise<ProtectedMcpServer> {
  let protection: Parameters<ProtectedMcpServer['protect']>[0] | undefined;
  const calls: ProtectedMcpServer['calls'] = [];
  let url = '';

  const http = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === PRM_PATH && request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ resource: url, authorization_servers: protection ? [protection.issuer] : [], scopes_supported: protection?.scopes ?? [], bearer_methods_supported: ['header'] }));
      return;
    }
    if (path !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    void authorize(request).then((subject) => {
      if (!subject) {
        response.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${new URL(PRM_PATH, url).toString()}"`, 'content-type': 'application/json' });
        response.end('{"error":"invalid_token"}');
        return;
      }
      const server = new McpServer({ name: 'protected-test-server', version: '1.0.0' });
      server.registerTool('whoami', { description: 'Who the token was issued to' }, async () => ({ content: [{ type: 'text', text: `subject:${subject}` }] }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      response.on('close', () => {
        void transport.close();
        void server.close();
      });
      return server.connect(transport).then(() => transport.handleRequest(request, response));
    });
  });

  async function authorize(request: IncomingMessage): Promise<string | undefined> {
    const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token || !protection) {
      if (token) calls.push({ authorized: false });
      return undefined;
    }
    const answer = await fetch(protection.introspectionUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${protection.clientId}:${protection.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token }),
    });
    const info = (await answer.json()) as { active?: boolean; aud?: unknown; sub?: string };
    const audiences = Array.isArray(info.aud) ? info.aud : [info.aud];
    const authorized = info.active === true && audiences.includes(url);
    calls.push({ authorized, audience: info.aud });
    return authorized ? (info.sub ?? 'unknown') : undefined;
  }

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return {
    url,
    calls,
    protect: (options) => {
      protection = options;
    },
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}
