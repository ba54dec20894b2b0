/**
 * Bounded memory, end to end: a JSON body past its limit is refused while it is still arriving (the
 * broker does not wait to hold it whole), and a provider answer past its cap is refused while it is
 * read, keeping the last good credentials.
 */
import http from 'node:http';
import { CLIENT_KEY, connect, startWorld, World } from './support/world';

jest.setTimeout(90_000);

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

test('when a JSON body passes 64 KB, then 413 PAYLOAD_TOO_LARGE comes back while the client is still sending, and nothing is started', async () => {
  const tokensBefore = (await world.oidc.tokenLog()).length;
  const listBefore = (await world.broker.request('GET', '/api/connections', { key: CLIENT_KEY })).json.items.length;
  const request = http.request(`${world.broker.url}/api/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
  });
  request.write(`{"provider":"oidc","metadata":{"pad":"${'x'.repeat(80 * 1024)}`);
  // The body is never finished: only a broker that refuses while reading can answer.
  const { status, body } = await answer;
  request.destroy();

  expect(status).toBe(413);
  expect(JSON.parse(body).error.code).toBe('PAYLOAD_TOO_LARGE');
  expect((await world.oidc.tokenLog()).length).toBe(tokensBefore);
  expect((await world.broker.request('GET', '/api/connections', { key: CLIENT_KEY })).json.items.length).toBe(listBefore);
});

test('when the token endpoint answers a refresh with more than 256 KB, then the answer is refused as PROVIDER_RESPONSE_TOO_LARGE and the last good token is kept', async () => {
  const connectionId = await connect(world, 'oidc');
  const token = (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY })).json.accessToken;
  await world.oidc.setFault({ token: { status: 400, times: 1, body: JSON.stringify({ error: 'invalid_grant', error_description: 'x'.repeat(1024 * 1024) }) } });

  const refreshed = await world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY });

  expect(refreshed.status).toBe(200);
  expect(refreshed.json).toMatchObject({ status: 'connected', error: { code: 'PROVIDER_RESPONSE_TOO_LARGE' } });
  const after = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(after.status).toBe(200);
  expect(after.json.accessToken).toBe(token);
});
