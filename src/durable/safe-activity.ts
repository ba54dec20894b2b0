/**
 * Durable Functions persists an activity's exception (message and stack) in history, so errors are
 * reduced to a redacted, single-line message with the stable code before they leave an activity.
 */
import { isBrokerError } from '../domain/errors';
import { redactText } from '../logging/redact';

export class ActivityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActivityError';
    // The stack would repeat the message and add file paths only; history keeps the message.
    this.stack = `${this.name}: ${message}`;
  }
}

export function safeActivity<I, O>(handler: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return async (input: I) => {
    try {
      return await handler(input);
    } catch (error) {
      const code = isBrokerError(error) ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      throw new ActivityError(`${code}: ${redactText(message).split('\n')[0].slice(0, 300)}`);
    }
  };
}
