/**
 * Session binding end to end (issue 17, item 1): a connection started with a `bindingChallenge` is
 * `awaiting_confirmation` after the provider's callback, hands out no token, and becomes `connected`
 * only when the client's backend brings the single-use completion code from the browser's return
 * together with the verifier of the session that started it. A forwarded link finished by another
 * session, a reused code and a wrong verifier each revoke the connection and leave no credentials in
 * storage.
 */
import { randomBytes } from 'node:crypto';
import { codeChallengeS256 } from '../../src/oauth/oauth2/pkce';
import type { HttpAnswer } from './support/broker-host';
import { rowsHoldingCredentials } from './support/storage-scan';
import { CLIENT_KEY, OTHER_CLIENT_KEY, RETURN_URL, consent, startConnection, startWorld, waitForStatus, World } from './support/world';

jest.setTimeout(120_000);

let world: World;
beforeAll(async () => {
  world = await startWorld({ extraSettings: { BROKER_BINDING_REQUIRED_CLIENTS: 'app2' } });
});
afterAll(async () => {
  await world?.stop();
});

/** A user session of the client app: it keeps the verifier, the broker sees only its S256. */
function newSession() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: codeChallengeS256(verifier) };
}

/** Start bound, consent as the given provider account, follow the callback; the browser's return URL. */
async function boundFlow(session: { challenge: string }, account = 'alice') {
  const started = await startConnection(world, { provider: 'oidc', bindingChallenge: session.challenge, returnTo: RETURN_URL });
  const callback = await consentAs(started.authorizationUrl, account);
  const answer = await world.broker.request('GET', callback);
  expect(answer.status).toBe(302);
  const returned = new URL(answer.headers.get('location') ?? '');
  expect(returned.searchParams.get('connectionId')).toBe(started.connectionId);
  expect(returned.searchParams.get('status')).toBe('awaiting_confirmation');
  const completionCode = returned.searchParams.get('completionCode') ?? '';
  expect(completionCode.length).toBeGreaterThanOrEqual(43);
  return { connectionId: started.connectionId, completionCode, callback };
}

async function consentAs(authorizationUrl: string, account: string): Promise<string> {
  if (account === 'alice') return consent(world, authorizationUrl);
  const { completeConsent } = await import('../support/oidc/complete-consent');
  return completeConsent(authorizationUrl, { account, approve: true });
}

function complete(connectionId: string, body: Record<string, unknown>) {
  return world.broker.request('POST', `/api/connections/${connectionId}/complete`, { key: CLIENT_KEY, body });
}

async function expectRefusedAndErased(connectionId: string, answer: HttpAnswer) {
  expect(answer.status).toBe(403);
  expect(answer.json.error.code).toBe('BINDING_REJECTED');
  const view = await world.broker.request('GET', `/api/connections/${connectionId}`, { key: CLIENT_KEY });
  expect(view.json.status).toBe('revoked');
  expect(view.json.error.code).toBe('BINDING_REJECTED');
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(410);
  expect(await rowsHoldingCredentials(world.azurite.connectionString, connectionId)).toEqual([]);
}

test('When the session that started it completes it, then the bound connection is connected and only then hands out a token', async () => {
  const session = newSession();
  const { connectionId, completionCode } = await boundFlow(session);

  const early = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(early.status).toBe(409);
  expect(early.json.error.status).toBe('awaiting_confirmation');
  const proxied = await world.broker.request('GET', `/api/connections/${connectionId}/proxy/me`, { key: CLIENT_KEY });
  expect(proxied.status).toBe(409);
  // Held sealed while waiting: confirmation only releases it.
  expect(await rowsHoldingCredentials(world.azurite.connectionString, connectionId)).toHaveLength(1);

  const done = await complete(connectionId, { completionCode, bindingVerifier: session.verifier });
  expect(done.status).toBe(200);
  expect(done.json.status).toBe('connected');
  const token = await world.broker.request('GET', `/api/connections/${connectionId}/token`, { key: CLIENT_KEY });
  expect(token.status).toBe(200);
  expect(typeof token.json.accessToken).toBe('string');
  // The orchestration left its confirm phase for the refresh loop.
  const forced = await world.broker.request('POST', `/api/connections/${connectionId}/refresh`, { key: CLIENT_KEY });
  expect(forced.status).toBe(200);
  expect(forced.json.status).toBe('connected');
});

test('When the completion code is used a second time, then the connection is revoked and its credentials erased', async () => {
  const session = newSession();
  const { connectionId, completionCode } = await boundFlow(session);
  expect((await complete(connectionId, { completionCode, bindingVerifier: session.verifier })).status).toBe(200);
  const revocationsBefore = (await world.oidc.revocationLog()).length;

  await expectRefusedAndErased(connectionId, await complete(connectionId, { completionCode, bindingVerifier: session.verifier }));
  // The tokens are revoked at the provider too, not only forgotten.
  expect((await world.oidc.revocationLog()).length).toBeGreaterThan(revocationsBefore);
});

test('When the verifier is wrong, then the connection is revoked and its credentials erased', async () => {
  const { connectionId, completionCode } = await boundFlow(newSession());
  await expectRefusedAndErased(connectionId, await complete(connectionId, { completionCode, bindingVerifier: newSession().verifier }));
});

test('When a link is forwarded and another user finishes it, then their session cannot complete it and nothing is kept', async () => {
  // The attacker starts a connection in their own session and sends its authorization URL to a victim.
  const attacker = newSession();
  const victim = newSession();
  const { connectionId, completionCode } = await boundFlow(attacker, 'victim-bob');
  // The victim's browser brings the code back to the client app, whose backend completes it with the
  // verifier of the victim's session (the session in which the browser returned).
  await expectRefusedAndErased(connectionId, await complete(connectionId, { completionCode, bindingVerifier: victim.verifier }));
  // And the attacker, who holds the right verifier but never saw the code, cannot complete it either.
  const retry = await complete(connectionId, { completionCode: 'guessed-code-0000000000000000000000000000000', bindingVerifier: attacker.verifier });
  expect(retry.status).toBe(410);
});

test('When the callback URL is replayed, then no second completion code is minted', async () => {
  const session = newSession();
  const { connectionId, completionCode, callback } = await boundFlow(session);
  const again = await world.broker.request('GET', callback);
  expect(again.status).toBe(302);
  const location = new URL(again.headers.get('location') ?? '');
  expect(location.searchParams.get('completionCode')).toBeNull();
  expect((await complete(connectionId, { completionCode, bindingVerifier: session.verifier })).status).toBe(200);
});

test('When a client must bind, then a connection without bindingChallenge is refused; bad challenges and missing returnTo too', async () => {
  const unbound = await world.broker.request('POST', '/api/connections', { key: OTHER_CLIENT_KEY, body: { provider: 'oidc' } });
  expect(unbound.status).toBe(400);
  expect(unbound.json.error.code).toBe('BINDING_REQUIRED');
  const bound = await world.broker.request('POST', '/api/connections', {
    key: OTHER_CLIENT_KEY,
    body: { provider: 'oidc', bindingChallenge: newSession().challenge, returnTo: RETURN_URL },
  });
  expect(bound.status).toBe(201);
  const malformed = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'oidc', bindingChallenge: 'short', returnTo: RETURN_URL } });
  expect(malformed.status).toBe(400);
  expect(malformed.json.error.field).toBe('bindingChallenge');
  const noReturn = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'oidc', bindingChallenge: newSession().challenge } });
  expect(noReturn.status).toBe(400);
  // An unbound connection of a client that need not bind is unchanged.
  const plain = await world.broker.request('POST', '/api/connections', { key: CLIENT_KEY, body: { provider: 'oidc' } });
  expect(plain.status).toBe(201);
  await waitForStatus(world, plain.json.connectionId, 'awaiting_callback');
});
