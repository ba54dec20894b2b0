/**
 * Several accounts per provider and end user, end to end on the local host against oidc-provider:
 * two upstream users of one end user are two connections, each naming its account (from the ID
 * Token, or from the user endpoint of a provider without OpenID Connect); the same upstream user
 * connected again adds a connection by default, and with `onExistingAccount: "update"` puts the
 * new tokens on the connection that already holds the account. For a client that must bind its
 * connections to the user session (app2), that merge waits for POST …/complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { completeConsent } from '../support/oidc/complete-consent';
import { eventually } from './support/broker-host';
import { codeChallengeS256 } from '../../src/oauth/oauth2/pkce';
import { fingerprint, rowsHoldingCredentials, scanStorage, sealedCredentials } from './support/storage-scan';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver';
import { brokerOidcClient, CLIENT_KEY, OPERATOR_KEY, OTHER_CLIENT_KEY, RETURN_URL, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(180_000);

let world: World;
let receiver: WebhookReceiver;
const WEBHOOK_SECRET = 'accounts-webhook-secret';

beforeAll(async () => {
  receiver = await startWebhookReceiver(WEBHOOK_SECRET);
  world = await startWorld({
    extraOidcClients: (brokerUrl) => [brokerOidcClient(brokerUrl, 'people'), brokerOidcClient(brokerUrl, 'plain')],
    extraSettings: (_brokerUrl, providers) => {
      const issuer = new URL(String(providers.oidc.tokenUrl)).origin;
      const credentials = (name: string) => ({ clientId: `broker-${name}`, clientSecret: `secret-${name}` });
      return {
        BROKER_BINDING_REQUIRED_CLIENTS: 'app2',
        BROKER_WEBHOOK_URLS: `app1=${receiver.url},app2=${receiver.url}`,
        BROKER_WEBHOOK_SECRETS: `app1=${WEBHOOK_SECRET},app2=${WEBHOOK_SECRET}`,
        BROKER_PROVIDERS: JSON.stringify({
          ...providers,
          // OpenID Connect: the account comes from the validated ID Token.
          people: { protocol: 'oauth2', issuer, apiBaseUrl: `${issuer}/api`, defaultScopes: ['openid', 'profile', 'email', 'read'], ...credentials('people') },
          // No issuer: the account comes from the user endpoint the definition names.
          plain: {
            protocol: 'oauth2',
            authorizationUrl: `${issuer}/auth`,
            tokenUrl: `${issuer}/token`,
            apiBaseUrl: `${issuer}/api`,
            defaultScopes: ['openid', 'read'],
            accountInfo: { url: `${issuer}/api/me`, subjectField: 'sub', nameField: 'clientId' },
            ...credentials('plain'),
          },
        }),
      };
    },
  });
});

afterAll(async () => {
  await world?.stop();
  await receiver?.stop();
});

/** The connection ids `connection.connected` was delivered for, in order. */
const connectedAnnounced = () => receiver.deliveries().filter((d) => d.event.type === 'connection.connected' && d.answered === 204).map((d) => d.event.data.connectionId as string);

/** Starts a connection, lets `account` consent at the provider, and returns the callback's answer. */
async function connectAs(account: string, body: Record<string, unknown>, key = CLIENT_KEY) {
  const started = await startConnection(world, { returnTo: RETURN_URL, ...body }, key);
  const callback = await completeConsent(started.authorizationUrl, { account, approve: true });
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(302);
  return { connectionId: started.connectionId as string, redirect: new URL(String(answer.headers.get('location'))) };
}

const get = async (path: string, key = CLIENT_KEY) => (await world.broker.request('GET', path, { key })).json;
const tokenOf = async (connectionId: string, key = CLIENT_KEY) => (await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key })).json.accessToken as string;

async function subjectAtProvider(accessToken: string): Promise<string> {
  const me = await fetch(world.oidc.url('/api/me'), { headers: { authorization: `Bearer ${accessToken}` } });
  expect(me.status).toBe(200);
  return ((await me.json()) as { sub: string }).sub;
}

test('two upstream users of one end user are two connections, listed with their accounts and found by subject', async () => {
  const alice = await connectAs('alice', { provider: 'people', endUserId: 'user-two-accounts' });
  const bob = await connectAs('bob', { provider: 'people', endUserId: 'user-two-accounts', onExistingAccount: 'update' });
  expect(bob.redirect.searchParams.get('connectionId')).toBe(bob.connectionId);
  await waitForStatus(world, alice.connectionId, 'connected');
  await waitForStatus(world, bob.connectionId, 'connected');

  const listed = await get('/api/connections?endUserId=user-two-accounts&provider=people');
  const accounts = Object.fromEntries(listed.items.map((item: { connectionId: string; account: unknown }) => [item.connectionId, item.account]));
  expect(accounts).toEqual({
    [alice.connectionId]: { issuer: world.oidc.issuer, subject: 'alice', displayName: 'Test user alice', email: 'alice@users.example' },
    [bob.connectionId]: { issuer: world.oidc.issuer, subject: 'bob', displayName: 'Test user bob', email: 'bob@users.example' },
  });
  const bobs = await get(`/api/connections?endUserId=user-two-accounts&accountSubject=bob&accountIssuer=${encodeURIComponent(world.oidc.issuer)}`);
  expect(bobs.items.map((item: { connectionId: string }) => item.connectionId)).toEqual([bob.connectionId]);

  expect(await subjectAtProvider(await tokenOf(alice.connectionId))).toBe('alice');
  expect(await subjectAtProvider(await tokenOf(bob.connectionId))).toBe('bob');
});

test('when the same upstream user connects again with "update", then the existing connection gets the new tokens and the new one is merged into it', async () => {
  const first = await connectAs('carol', { provider: 'people', endUserId: 'user-update' });
  await waitForStatus(world, first.connectionId, 'connected');
  const firstToken = await tokenOf(first.connectionId);

  const again = await connectAs('carol', { provider: 'people', endUserId: 'user-update', onExistingAccount: 'update' });
  // The browser comes back naming the connection that holds the account.
  expect(again.redirect.searchParams.get('connectionId')).toBe(first.connectionId);
  expect(again.redirect.searchParams.get('status')).toBe('connected');
  expect(again.redirect.searchParams.get('mergedFrom')).toBe(again.connectionId);

  const merged = await get(`/api/connections/${again.connectionId}`);
  expect(merged).toMatchObject({ status: 'merged', mergedInto: first.connectionId, account: { subject: 'carol' } });
  const mergedToken = await world.broker.request('GET', `/api/connections/${again.connectionId}/token`, { key: CLIENT_KEY });
  expect(mergedToken.status).toBe(409);

  const newToken = await tokenOf(first.connectionId);
  expect(newToken).not.toBe(firstToken);
  expect(await subjectAtProvider(newToken)).toBe('carol');
  const connected = await get('/api/connections?endUserId=user-update&provider=people&status=connected');
  expect(connected.items.map((item: { connectionId: string }) => item.connectionId)).toEqual([first.connectionId]);

  // The holder's refresh loop picked up the new credentials (it reschedules from the newer version).
  await eventually(async () => {
    const ops = await world.broker.request('GET', `/api/ops/connections/${first.connectionId}?clientId=app1`, { key: OPERATOR_KEY });
    return ops.json?.orchestration?.customStatus?.credentialsVersion === 2 ? true : undefined;
  }, 20_000);
  // Neither grant's token is in plain text anywhere in storage, durable history included.
  const scan = await scanStorage(world.azurite.connectionString);
  expect(scan.texts).toBeGreaterThan(0);
  expect([firstToken, newToken].filter((t) => scan.fingerprints.has(fingerprint(t)))).toEqual([]);
  const history = await world.broker.request('GET', `/api/ops/connections/${again.connectionId}?clientId=app1`, { key: OPERATOR_KEY });
  expect(JSON.stringify(history.json)).toContain(`"mergedInto":"${first.connectionId}"`);
  // The client hears the holder connected again (the id the redirect names), never the merged one.
  await eventually(async () => (connectedAnnounced().filter((id) => id === first.connectionId).length === 2 ? true : undefined), 20_000);
  expect(connectedAnnounced()).not.toContain(again.connectionId);
  // And it still refreshes: a forced refresh answers with yet another token for the same account.
  const refreshed = await world.broker.request('POST', `/api/connections/${first.connectionId}/refresh`, { key: CLIENT_KEY });
  expect(refreshed.status).toBe(200);
  const afterRefresh = await tokenOf(first.connectionId);
  expect(afterRefresh).not.toBe(newToken);
  expect(await subjectAtProvider(afterRefresh)).toBe('carol');
});

test('when the same upstream user connects again without "update", then a second connection is added', async () => {
  const first = await connectAs('dave', { provider: 'people', endUserId: 'user-add' });
  const second = await connectAs('dave', { provider: 'people', endUserId: 'user-add', onExistingAccount: 'add' });
  expect(second.redirect.searchParams.get('connectionId')).toBe(second.connectionId);
  await waitForStatus(world, first.connectionId, 'connected');
  await waitForStatus(world, second.connectionId, 'connected');
  const listed = await get('/api/connections?endUserId=user-add&provider=people');
  expect(listed.items).toHaveLength(2);
  for (const item of listed.items) expect(item).toMatchObject({ status: 'connected', account: { subject: 'dave' } });
  expect(await tokenOf(first.connectionId)).not.toBe(await tokenOf(second.connectionId));
});

test('a provider without OpenID Connect names the account from its user endpoint, and "update" merges on it', async () => {
  const first = await connectAs('erin', { provider: 'plain', endUserId: 'user-plain' });
  await waitForStatus(world, first.connectionId, 'connected');
  const issuer = new URL(world.oidc.url('/api/me')).origin;
  expect(await get(`/api/connections/${first.connectionId}`)).toMatchObject({ account: { issuer, subject: 'erin', displayName: 'broker-plain' } });
  const firstToken = await tokenOf(first.connectionId);

  const other = await connectAs('frank', { provider: 'plain', endUserId: 'user-plain', onExistingAccount: 'update' });
  expect(other.redirect.searchParams.get('connectionId')).toBe(other.connectionId);
  const again = await connectAs('erin', { provider: 'plain', endUserId: 'user-plain', onExistingAccount: 'update' });
  expect(again.redirect.searchParams.get('connectionId')).toBe(first.connectionId);

  const newToken = await tokenOf(first.connectionId);
  expect(newToken).not.toBe(firstToken);
  expect(await subjectAtProvider(newToken)).toBe('erin');
  const listed = await get('/api/connections?endUserId=user-plain&provider=plain');
  const byId = Object.fromEntries(listed.items.map((item: { connectionId: string; status: string; account: { subject: string } }) => [item.connectionId, `${item.status}:${item.account.subject}`]));
  expect(byId).toEqual({ [first.connectionId]: 'connected:erin', [other.connectionId]: 'connected:frank', [again.connectionId]: 'merged:erin' });
});

/** A user session of the client app: it keeps the verifier, the broker sees only its S256. */
function newSession() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: codeChallengeS256(verifier) };
}

/** app2 must bind: start bound as `account`, and the completion code the browser brought back. */
async function boundConnectAs(account: string, session: { challenge: string }, body: Record<string, unknown>) {
  const { connectionId, redirect } = await connectAs(account, { provider: 'people', bindingChallenge: session.challenge, ...body }, OTHER_CLIENT_KEY);
  // Whatever it will merge into, the browser comes back to the connection that was started.
  expect(redirect.searchParams.get('connectionId')).toBe(connectionId);
  expect(redirect.searchParams.get('status')).toBe('awaiting_confirmation');
  expect(redirect.searchParams.get('mergedFrom')).toBeNull();
  return { connectionId, completionCode: String(redirect.searchParams.get('completionCode')) };
}

const completeAsApp2 = (connectionId: string, completionCode: string, bindingVerifier: string) =>
  world.broker.request('POST', `/api/connections/${connectionId}/complete`, { key: OTHER_CLIENT_KEY, body: { completionCode, bindingVerifier } });

/** The holder of a bound "update": app2's first connection of `account`, completed. */
async function boundHolder(account: string, endUserId: string) {
  const session = newSession();
  const first = await boundConnectAs(account, session, { endUserId });
  const done = await completeAsApp2(first.connectionId, first.completionCode, session.verifier);
  expect(done.status).toBe(200);
  expect(done.json).toMatchObject({ connectionId: first.connectionId, status: 'connected' });
  expect(done.json.mergedFrom).toBeUndefined();
  return first.connectionId;
}

test('with binding required, "update" merges only once the client completes: then the holder carries the new grant and the new connection is merged', async () => {
  const holder = await boundHolder('grace', 'user-bound-update');
  const holderToken = await tokenOf(holder, OTHER_CLIENT_KEY);
  const holderSealed = await sealedCredentials(world.azurite.connectionString, holder);

  const session = newSession();
  const again = await boundConnectAs('grace', session, { endUserId: 'user-bound-update', onExistingAccount: 'update' });
  // Awaiting confirmation: nothing reached the holder, and the new grant is handed out nowhere.
  expect(await get(`/api/connections/${again.connectionId}`, OTHER_CLIENT_KEY)).toMatchObject({ status: 'awaiting_confirmation', account: { subject: 'grace' } });
  expect(await sealedCredentials(world.azurite.connectionString, holder)).toEqual(holderSealed);
  expect(await tokenOf(holder, OTHER_CLIENT_KEY)).toBe(holderToken);
  const early = await world.broker.request('GET', `/api/connections/${again.connectionId}/token`, { key: OTHER_CLIENT_KEY });
  expect(early.status).toBe(409);

  const done = await completeAsApp2(again.connectionId, again.completionCode, session.verifier);
  expect(done.status).toBe(200);
  // The answer is the holder's view, naming the connection that was completed.
  expect(done.json).toMatchObject({ connectionId: holder, status: 'connected', mergedFrom: again.connectionId, account: { subject: 'grace' } });

  const newToken = await tokenOf(holder, OTHER_CLIENT_KEY);
  expect(newToken).not.toBe(holderToken);
  expect(await subjectAtProvider(newToken)).toBe('grace');
  expect(await get(`/api/connections/${again.connectionId}`, OTHER_CLIENT_KEY)).toMatchObject({ status: 'merged', mergedInto: holder });
  expect((await world.broker.request('GET', `/api/connections/${again.connectionId}/token`, { key: OTHER_CLIENT_KEY })).status).toBe(409);
  expect(await rowsHoldingCredentials(world.azurite.connectionString, again.connectionId)).toEqual([]);
  const connected = await get('/api/connections?endUserId=user-bound-update&provider=people&status=connected', OTHER_CLIENT_KEY);
  expect(connected.items.map((item: { connectionId: string }) => item.connectionId)).toEqual([holder]);

  // The new connection's orchestration ends merged; the holder's loop reschedules from the new version.
  await eventually(async () => {
    const ops = await world.broker.request('GET', `/api/ops/connections/${again.connectionId}?clientId=app2`, { key: OPERATOR_KEY });
    return ops.json?.orchestration?.customStatus?.status === 'merged' ? true : undefined;
  }, 20_000);
  await eventually(async () => {
    const ops = await world.broker.request('GET', `/api/ops/connections/${holder}?clientId=app2`, { key: OPERATOR_KEY });
    return ops.json?.orchestration?.customStatus?.credentialsVersion === 2 ? true : undefined;
  }, 20_000);
  const refreshed = await world.broker.request('POST', `/api/connections/${holder}/refresh`, { key: OTHER_CLIENT_KEY });
  expect(refreshed.status).toBe(200);
  expect(await subjectAtProvider(await tokenOf(holder, OTHER_CLIENT_KEY))).toBe('grace');
  await eventually(async () => (connectedAnnounced().filter((id) => id === holder).length === 2 ? true : undefined), 20_000);
  expect(connectedAnnounced()).not.toContain(again.connectionId);

  // A second completion is refused; it revokes only the merged connection, never the holder.
  const reused = await completeAsApp2(again.connectionId, again.completionCode, session.verifier);
  expect(reused.status).toBe(403);
  expect(reused.json.error.code).toBe('BINDING_REJECTED');
  expect(await get(`/api/connections/${holder}`, OTHER_CLIENT_KEY)).toMatchObject({ status: 'connected' });
  expect(await subjectAtProvider(await tokenOf(holder, OTHER_CLIENT_KEY))).toBe('grace');
});

test('with binding required, a wrong verifier refuses the "update": the holder keeps its credentials and nothing of the attempt is stored', async () => {
  const holder = await boundHolder('heidi', 'user-bound-refused');
  const holderToken = await tokenOf(holder, OTHER_CLIENT_KEY);
  const holderSealed = await sealedCredentials(world.azurite.connectionString, holder);
  expect(Object.keys(holderSealed)).toHaveLength(1);

  const again = await boundConnectAs('heidi', newSession(), { endUserId: 'user-bound-refused', onExistingAccount: 'update' });
  const refused = await completeAsApp2(again.connectionId, again.completionCode, newSession().verifier);
  expect(refused.status).toBe(403);
  expect(refused.json.error.code).toBe('BINDING_REJECTED');

  expect(await get(`/api/connections/${again.connectionId}`, OTHER_CLIENT_KEY)).toMatchObject({ status: 'revoked', error: { code: 'BINDING_REJECTED' } });
  expect(await rowsHoldingCredentials(world.azurite.connectionString, again.connectionId)).toEqual([]);
  expect(await sealedCredentials(world.azurite.connectionString, holder)).toEqual(holderSealed);
  expect(await get(`/api/connections/${holder}`, OTHER_CLIENT_KEY)).toMatchObject({ status: 'connected' });
  expect(await tokenOf(holder, OTHER_CLIENT_KEY)).toBe(holderToken);
  expect(await subjectAtProvider(holderToken)).toBe('heidi');
});

test('"update" needs an end user', async () => {
  const noUser = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'people', onExistingAccount: 'update' } });
  expect(noUser.status).toBe(400);
  expect(noUser.json.error.message).toMatch(/onExistingAccount/);
  const bad = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'people', endUserId: 'u', onExistingAccount: 'replace' } });
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toMatch(/onExistingAccount/);
});

/** An ID Token the provider really issued to the broker's client `people`, for `account`: the test acts as that client. */
async function genuineIdTokenFor(account: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(world.oidc.url('/auth'));
  authorize.search = new URLSearchParams({
    client_id: 'broker-people',
    redirect_uri: `${world.broker.url}/api/callback/people`,
    response_type: 'code',
    scope: 'openid',
    state: 'test-state',
    nonce: 'test-nonce',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const code = new URL(await completeConsent(authorize.toString(), { account, approve: true })).searchParams.get('code');
  const answer = await fetch(world.oidc.url('/token'), {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('broker-people:secret-people').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: String(code), redirect_uri: `${world.broker.url}/api/callback/people`, code_verifier: verifier }),
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { id_token: string }).id_token;
}

test("a refresh answer's ID Token is checked: the provider's own for the same account keeps the connection; one for another account fails the refresh and nothing of that answer is kept", async () => {
  const carol = await connectAs('carol', { provider: 'people' });
  await waitForStatus(world, carol.connectionId, 'connected');
  const refresh = () => world.broker.request('POST', `/api/connections/${carol.connectionId}/refresh`, { key: CLIENT_KEY });

  // oidc-provider sends a new ID Token with every refresh of an openid grant: it passes.
  const refreshed = await refresh();
  expect(refreshed.status).toBe(200);
  expect(refreshed.json.status).toBe('connected');
  expect(await subjectAtProvider(await tokenOf(carol.connectionId))).toBe('carol');

  // A refresh answer carrying a genuine, well-signed ID Token for someone else.
  const daveIdToken = await genuineIdTokenFor('dave');
  await world.oidc.setFault({
    token: {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ access_token: 'access-for-someone-else', token_type: 'Bearer', expires_in: 3600, refresh_token: 'refresh-for-someone-else', id_token: daveIdToken, scope: 'openid profile email read' }),
    },
  });
  await refresh();
  await waitForStatus(world, carol.connectionId, 'reauth_required');
  const view = await get(`/api/connections/${carol.connectionId}`);
  expect(view.error.code).toBe('ID_TOKEN_INVALID');
  expect(view.account.subject).toBe('carol');
  const token = await world.broker.request('GET', `/api/connections/${carol.connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(409);
  expect(token.text).not.toContain('access-for-someone-else');
});
