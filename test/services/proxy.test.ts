/**
 * The proxy's decisions in-process: what is refused before anything is sent, what reaches the
 * provider (the recording server), and the one refresh-and-retry after a 401.
 */
import { Readable } from 'node:stream';
import { forwardRequest, type ForwardRequest } from '../../src/proxy/forward';
import { proxyRequest, type ProxyRequest } from '../../src/services/proxy';
import { CLIENT, orchestrateWithActivities, rejection, running, seedConnected, servicesFixture, tokenAnswer, type World } from './_world';

const fixture = servicesFixture();

async function bodyOf(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function request(connectionId: string, overrides: Partial<ProxyRequest> = {}): ProxyRequest {
  return { clientId: CLIENT, connectionId, method: 'GET', rawPath: 'v1/items', rawQuery: 'page=2&q=a%20b', headers: {}, ...overrides };
}

describe('proxyRequest', () => {
  let world: World;
  beforeEach(async () => {
    world = await fixture.world();
    orchestrateWithActivities(world);
  });

  it('when the path is allowed, then the provider gets the joined target with the bearer token and none of the caller’s credentials', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith({ status: 201, headers: { 'content-type': 'application/json', 'set-cookie': 'a=b', connection: 'close' }, body: '{"ok":true}' });
    const answer = await proxyRequest(
      world.runtime,
      request(connection.connectionId, {
        method: 'POST',
        headers: { authorization: 'Bearer CLIENT-KEY', 'x-api-key': 'CLIENT-KEY', cookie: 's=1', 'x-forwarded-for': '10.0.0.1', accept: 'application/json', 'content-type': 'application/json' },
        body: Readable.from([Buffer.from('{"name":"x"}')]),
      }),
    );
    expect(answer.status).toBe(201);
    expect(await bodyOf(answer.body)).toBe('{"ok":true}');
    expect(answer.headers).toEqual(expect.arrayContaining([['content-type', 'application/json']]));
    expect(answer.headers.map(([name]) => name)).not.toContain('connection');

    const [sent] = world.provider.takeRequests();
    expect(sent.method).toBe('POST');
    expect(sent.target).toBe('/api/v1/items?page=2&q=a%20b');
    expect(sent.body).toBe('{"name":"x"}');
    expect(sent.headers.authorization).toBe('Bearer at-1');
    expect(sent.headers).not.toHaveProperty('x-api-key');
    expect(sent.headers).not.toHaveProperty('cookie');
    expect(sent.headers).not.toHaveProperty('x-forwarded-for');
    expect(sent.headers.accept).toBe('application/json');
  });

  it.each([
    ['a dot-dot segment', '../admin'],
    ['an encoded dot-dot segment', '%2E%2e/admin'],
    ['an encoded slash', 'a%2Fb'],
    ['a leading slash (another host)', '/evil.example/x'],
    ['a backslash', 'a\\b'],
  ])('when the path has %s, then PROXY_PATH_REJECTED and nothing is sent or read', async (_label, rawPath) => {
    const { connection } = await seedConnected(world);
    world.runtime.connections.openCredentials = async () => {
      throw new Error('credentials must not be read for a refused path');
    };
    const error = await rejection(proxyRequest(world.runtime, request(connection.connectionId, { rawPath })));
    expect(error.code).toBe('PROXY_PATH_REJECTED');
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when a header value carries a line break, then PROXY_HEADER_REJECTED and nothing is sent', async () => {
    const { connection } = await seedConnected(world);
    const error = await rejection(proxyRequest(world.runtime, request(connection.connectionId, { headers: { 'x-note': 'a\r\nHost: evil' } })));
    expect(error.code).toBe('PROXY_HEADER_REJECTED');
    expect(world.provider.takeRequests()).toEqual([]);
  });

  it('when the provider answers 401, then the token is refreshed once and the request retried with the new token', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith(tokenAnswer({ access_token: 'at-2', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-2' }));
    const seen: string[] = [];
    const forward: ForwardRequest = async (spec, stream) => {
      seen.push(spec.headers.authorization ?? '');
      if (seen.length === 1) return { status: 401, headers: {}, body: Readable.from([]) };
      return forwardRequest(spec, stream);
    };
    world.runtime.http = { ...world.runtime.http, forward };
    const answer = await proxyRequest(world.runtime, request(connection.connectionId));
    expect(seen).toEqual(['Bearer at-1', 'Bearer at-2']);
    expect(answer.status).toBe(200);
  });

  it('when the provider answers 401 and the token cannot be refreshed, then its 401 goes back as it is, unretried', async () => {
    const { connection } = await seedConnected(world, { credentials: { protocol: 'oauth2', accessToken: 'at-1', tokenType: 'Bearer' } });
    running(world, connection.instanceId);
    world.provider.answerWith({ status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' }, body: 'expired' });
    const answer = await proxyRequest(world.runtime, request(connection.connectionId));
    expect(answer.status).toBe(401);
    expect(answer.headers).toEqual(expect.arrayContaining([['www-authenticate', 'Bearer error="invalid_token"']]));
    expect(await bodyOf(answer.body)).toBe('expired');
    expect(world.provider.takeRequests()).toHaveLength(1);
    expect(world.durable.raised).toEqual([]);
  });

  it('when the connection is OAuth 1.0a, then the request is signed with the token credentials', async () => {
    const { connection } = await seedConnected(world, { provider: 'legacy', credentials: { protocol: 'oauth1', oauthToken: 'tok', oauthTokenSecret: 'tok-secret' } });
    world.provider.answerWith({ status: 200, body: 'ok' });
    await proxyRequest(world.runtime, request(connection.connectionId));
    const [sent] = world.provider.takeRequests();
    expect(sent.headers.authorization).toMatch(/^OAuth /);
    expect(sent.headers.authorization).toContain('oauth_token="tok"');
    expect(sent.headers.authorization).toContain('oauth_consumer_key="consumer"');
    expect(sent.headers.authorization).not.toContain('tok-secret');
  });

  it('when calls of one connection come together, then they share its row reads and each answers', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith({ status: 200, body: 'ok' });
    await bodyOf((await proxyRequest(world.runtime, request(connection.connectionId))).body); // caches the token
    world.provider.takeRequests();
    const reads = jest.spyOn(world.runtime.connections, 'get');

    const answers = await Promise.all(Array.from({ length: 12 }, () => proxyRequest(world.runtime, request(connection.connectionId))));

    expect(await Promise.all(answers.map(async (answer) => [answer.status, await bodyOf(answer.body)]))).toEqual(Array(12).fill([200, 'ok']));
    expect(world.provider.takeRequests()).toHaveLength(12);
    // The first call's read, then one read begun after the other eleven asked.
    expect(reads).toHaveBeenCalledTimes(2);
  });

  it('when another host revokes while a read is in flight, then a call made after the revocation is refused although it came during that read', async () => {
    const { connection } = await seedConnected(world);
    running(world, connection.instanceId);
    world.provider.answerWith({ status: 200, body: 'ok' });
    await bodyOf((await proxyRequest(world.runtime, request(connection.connectionId))).body);
    world.provider.takeRequests();
    const { connections } = world.runtime;
    const readRow = connections.get.bind(connections);
    let firstReadAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (firstReadAnswered = resolve));
    let letFirstReadReturn!: () => void;
    const held = new Promise<void>((resolve) => (letFirstReadReturn = resolve));
    jest.spyOn(connections, 'get').mockImplementationOnce(async (clientId, connectionId) => {
      const row = await readRow(clientId, connectionId);
      firstReadAnswered();
      await held;
      return row;
    });

    const before = proxyRequest(world.runtime, request(connection.connectionId));
    await answered; // that read saw the row connected
    const row = await connections.require(CLIENT, connection.connectionId);
    await connections.save(row, { ...row.connection, status: 'revoked' }); // what another host's revocation writes
    const after = proxyRequest(world.runtime, request(connection.connectionId));
    letFirstReadReturn();

    expect((await before).status).toBe(200);
    expect((await rejection(after)).code).toBe('CONNECTION_REVOKED');
    expect(world.provider.takeRequests()).toHaveLength(1);
  });

  it('when the connection was revoked, then CONNECTION_REVOKED and nothing is sent', async () => {
    const { connection } = await seedConnected(world, { status: 'revoked' });
    expect((await rejection(proxyRequest(world.runtime, request(connection.connectionId)))).code).toBe('CONNECTION_REVOKED');
    expect(world.provider.takeRequests()).toEqual([]);
  });
});
