import { BrokerError } from '../../../src/domain/errors';
import { buildWebhookPayload, WebhookEvent, WEBHOOK_ERROR_MESSAGE_MAX_CHARS } from '../../../src/webhooks/payload';

const EVENT: WebhookEvent = {
  type: 'connection.refresh_failed',
  connectionId: 'c-123',
  provider: 'github',
  clientId: 'app1',
  endUserId: 'user-42',
  status: 'connected',
  occurredAt: '2025-01-31T12:00:00Z',
  error: { code: 'PROVIDER_UNAVAILABLE', message: 'The provider answered 503.' },
};

describe('buildWebhookPayload', () => {
  test('the body holds id, type, time and the whitelisted connection fields, in that order', () => {
    const { id, body } = buildWebhookPayload(EVENT);
    expect(id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(body).toBe(
      JSON.stringify({
        id,
        type: 'connection.refresh_failed',
        occurredAt: '2025-01-31T12:00:00.000Z',
        data: {
          connectionId: 'c-123',
          provider: 'github',
          clientId: 'app1',
          endUserId: 'user-42',
          status: 'connected',
          error: { code: 'PROVIDER_UNAVAILABLE', message: 'The provider answered 503.' },
        },
      }),
    );
  });

  test('when optional fields are absent, then they are left out of the body', () => {
    const { body } = buildWebhookPayload({
      type: 'connection.connected',
      connectionId: 'c-1',
      provider: 'acme',
      clientId: 'app1',
      status: 'connected',
      occurredAt: new Date('2025-01-31T12:00:00Z'),
    });
    const parsed = JSON.parse(body);
    expect(Object.keys(parsed.data)).toEqual(['connectionId', 'provider', 'clientId', 'status']);
    expect(parsed.occurredAt).toBe('2025-01-31T12:00:00.000Z');
  });

  test('when the event object carries tokens and other fields, then none of them reach the body', () => {
    const leaky = {
      ...EVENT,
      accessToken: 'at-SECRET-1',
      refreshToken: 'rt-SECRET-2',
      oauthTokenSecret: 'ots-SECRET-3',
      metadata: { note: 'md-SECRET-4' },
      error: { ...EVENT.error, stack: 'stack-SECRET-5', details: { token: 'dt-SECRET-6' } },
    } as WebhookEvent;
    const { body } = buildWebhookPayload(leaky);
    expect(body).not.toMatch(/SECRET|accessToken|refreshToken|metadata|stack|details/);
    expect(JSON.parse(body).data.error).toEqual({ code: 'PROVIDER_UNAVAILABLE', message: 'The provider answered 503.' });
  });

  test('the id is the same when the same occurrence is built again (a retried delivery)', () => {
    expect(buildWebhookPayload(EVENT).id).toBe(buildWebhookPayload({ ...EVENT, occurredAt: new Date('2025-01-31T12:00:00Z') }).id);
  });

  test.each([
    ['type', { type: 'connection.revoked' as const }],
    ['connection', { connectionId: 'c-124' }],
    ['time', { occurredAt: '2025-01-31T12:00:00.001Z' }],
  ])('when the %s differs, then the id differs', (_name, change) => {
    expect(buildWebhookPayload({ ...EVENT, ...change }).id).not.toBe(buildWebhookPayload(EVENT).id);
  });

  test('a long error message is cut to the documented length', () => {
    const { body } = buildWebhookPayload({ ...EVENT, error: { code: 'OAUTH_PROVIDER_ERROR', message: 'x'.repeat(2000) } });
    expect(JSON.parse(body).data.error.message).toHaveLength(WEBHOOK_ERROR_MESSAGE_MAX_CHARS);
  });

  test.each([
    ['type', { type: 'connection.deleted' }],
    ['status', { status: 'gone' }],
    ['connectionId', { connectionId: '' }],
    ['provider', { provider: 42 }],
    ['clientId', { clientId: undefined }],
    ['endUserId', { endUserId: '' }],
    ['occurredAt', { occurredAt: 'yesterday' }],
    ['occurredAt', { occurredAt: 1738324800000 }],
    ['error.code', { error: { message: 'm' } }],
    ['error.message', { error: { code: 'INTERNAL', message: '' } }],
  ])('when %s is invalid, then it is refused naming that field', (field, change) => {
    const build = () => buildWebhookPayload({ ...EVENT, ...change } as unknown as WebhookEvent);
    expect(build).toThrow(BrokerError);
    expect(build).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message: `Webhook event field "${field}" is missing or invalid.` }));
  });
});
