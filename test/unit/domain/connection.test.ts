import { CONNECTION_STATUSES, Connection, isSettled, isUsable, toConnectionView } from '../../../src/domain/connection';

function connection(overrides: Partial<Connection> = {}): Connection {
  return {
    connectionId: 'conn-1',
    clientId: 'app1',
    instanceId: 'app1.conn-1',
    provider: 'acme',
    protocol: 'oauth2',
    status: 'connected',
    scopes: ['read'],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:01:00.000Z',
    expiresAt: '2030-01-01T01:00:00.000Z',
    lastRefreshedAt: null,
    credentialsVersion: 1,
    ...overrides,
  };
}

describe('connection statuses', () => {
  it('are exactly the public contract statuses', () => {
    expect([...CONNECTION_STATUSES].sort()).toEqual(
      ['awaiting_callback', 'awaiting_confirmation', 'connected', 'refreshing', 'reauth_required', 'denied', 'expired', 'revoked', 'failed', 'merged'].sort(),
    );
  });

  it('only connected and refreshing connections are usable', () => {
    expect(CONNECTION_STATUSES.filter(isUsable)).toEqual(['connected', 'refreshing']);
  });

  it('every status except awaiting_callback and refreshing is settled', () => {
    expect(CONNECTION_STATUSES.filter((s) => !isSettled(s))).toEqual(['awaiting_callback', 'refreshing']);
  });
});

describe('toConnectionView', () => {
  it('shows the contract fields and nothing internal (client id, authorization id, return URL, version)', () => {
    const view = toConnectionView(
      connection({ authorizationId: 'hash-ref', returnTo: 'https://app.example/done', endUserId: 'user-7', metadata: { team: 'a' } }),
    );
    expect(view).toEqual({
      connectionId: 'conn-1',
      provider: 'acme',
      protocol: 'oauth2',
      status: 'connected',
      scopes: ['read'],
      endUserId: 'user-7',
      metadata: { team: 'a' },
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:01:00.000Z',
      expiresAt: '2030-01-01T01:00:00.000Z',
      lastRefreshedAt: null,
    });
  });

  it('when the end user and metadata are absent, then they are null', () => {
    const view = toConnectionView(connection());
    expect(view.endUserId).toBeNull();
    expect(view.metadata).toBeNull();
  });

  it('when awaiting the callback, then authorizationExpiresAt is shown; otherwise it is not', () => {
    const at = '2030-01-01T00:10:00.000Z';
    expect(toConnectionView(connection({ status: 'awaiting_callback', authorizationExpiresAt: at }))).toHaveProperty('authorizationExpiresAt', at);
    expect(toConnectionView(connection({ status: 'connected', authorizationExpiresAt: at }))).not.toHaveProperty('authorizationExpiresAt');
  });

  it('when the connection has an error, then only its code and message are shown', () => {
    const view = toConnectionView(
      connection({ status: 'failed', error: { code: 'OAUTH_INVALID_GRANT', message: 'grant expired', providerError: 'invalid_grant', at: 'x' } }),
    );
    expect(view.error).toEqual({ code: 'OAUTH_INVALID_GRANT', message: 'grant expired' });
    expect(toConnectionView(connection())).not.toHaveProperty('error');
  });
});

describe('toConnectionView: broader provider facts', () => {
  it('when the provider is deprecated, then the view says until when and what replaces it', () => {
    const view = toConnectionView(connection(), { deprecatedAfter: '2026-12-31', successor: 'garmin-oauth2' });
    expect(view).toHaveProperty('providerDeprecation', { deprecatedAfter: '2026-12-31', successor: 'garmin-oauth2' });
    expect(toConnectionView(connection(), {})).not.toHaveProperty('providerDeprecation');
  });

  it('shows who connected, what set the expiry and the failed refreshes when the row has them', () => {
    const account = { issuer: 'https://id.example', subject: 'u-1', email: 'u@example.com' };
    const refreshAttempts = { failures: 2, firstFailureAt: '2030-01-01T00:00:00.000Z', lastFailureAt: '2030-01-01T00:05:00.000Z' };
    expect(toConnectionView(connection({ account, expiresAtSource: 'jwt_exp', refreshAttempts }))).toMatchObject({ account, expiresAtSource: 'jwt_exp', refreshAttempts });
  });
});
