/**
 * An MCP server behind the broker (issue 17, item 5). Its tool calls the provider's API for the
 * calling user through the broker's proxy, so the MCP server never holds a provider token and the
 * MCP client never sees one. When the user has no connection yet, the tool answers with a URL-mode
 * elicitation (MCP error -32042) carrying a broker connect link: the user opens it in a browser,
 * consents at the provider, and the client retries the call.
 *
 * Users of this MCP server are identified by a bearer token of the server's own (a stand-in for the
 * MCP server's own authorization); `users` maps each to the broker's `endUserId`.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/client/elicitation (URL mode)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { BrokerClient } from '../../sdk/src';

export interface ExampleServerOptions {
  brokerUrl: string;
  /** The broker client key of this MCP server (a client app of the broker). */
  brokerKey: string;
  /** The broker's provider whose API the tool calls. */
  provider: string;
  /** The provider API path the tool reads (relative to its `apiBaseUrl`). */
  profilePath: string;
  /** This server's user bearer tokens → the broker's end-user ids. */
  users: ReadonlyMap<string, string>;
  port?: number;
}

export interface ExampleServer {
  url: string;
  close(): Promise<void>;
}

/** The MCP server for one calling user (stateless: one per HTTP request). */
export function buildMcpServer(broker: BrokerClient, options: Pick<ExampleServerOptions, 'provider' | 'profilePath'>, endUserId: string): McpServer {
  const server = new McpServer({ name: 'broker-example', version: '1.0.0' });
  server.registerTool(
    'provider_profile',
    { description: `Reads your ${options.provider} profile (connects your account first if needed).` },
    async () => {
      const page = await broker.listConnections({ endUserId, provider: options.provider, status: 'connected', top: 1 });
      const connection = page.items[0];
      if (!connection) {
        // Single use, short-lived, no personal data in the URL: safe to hand to the MCP client.
        const link = await broker.createConnectLink({ endUserId, provider: options.provider });
        throw new UrlElicitationRequiredError([
          { mode: 'url', elicitationId: randomUUID(), url: link.url, message: `Connect your ${options.provider} account, then try again.` },
        ]);
      }
      const answer = await broker.proxy(connection.connectionId, options.profilePath);
      const profile = (await answer.json()) as { sub?: string; scope?: string };
      // Only what the user asked for: never the connection's credentials.
      return { content: [{ type: 'text', text: JSON.stringify({ subject: profile.sub, scope: profile.scope }) }] };
    },
  );
  return server;
}

export async function startExampleServer(options: ExampleServerOptions): Promise<ExampleServer> {
  const broker = new BrokerClient({ baseUrl: options.brokerUrl, apiKey: options.brokerKey });
  const http: Server = createServer((request, response) => {
    const endUserId = options.users.get(bearerOf(request) ?? '');
    if (!endUserId) {
      response.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }).end('{"error":"unknown user"}');
      return;
    }
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    const server = buildMcpServer(broker, options, endUserId);
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => http.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

function bearerOf(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}
