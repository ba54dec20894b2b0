/**
 * Durable Functions persists an activity's exception (message and stack) in history, so errors are
 * reduced to a redacted, single-line message with the stable code before they leave an activity.
 */
import type { InvocationContext } from '@azure/functions';
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

/** The ids an activity input may carry, copied onto its failure log line (none of them is secret). */
function logFields(input: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (typeof input !== 'object' || input === null) return fields;
  for (const name of ['connectionId', 'clientId', 'provider']) {
    const value = (input as Record<string, unknown>)[name];
    if (typeof value === 'string') fields[name] = redactText(value.slice(0, 128));
  }
  return fields;
}

export function safeActivity<I, O>(handler: (input: I, context?: InvocationContext) => Promise<O>): (input: I, context?: InvocationContext) => Promise<O> {
  return async (input: I, context?: InvocationContext) => {
    try {
      return await handler(input, context);
    } catch (error) {
      const code = isBrokerError(error) ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      const line = `${code}: ${redactText(message).split('\n')[0].slice(0, 300)}`;
      // One JSON line per failure, naming the activity, its invocation and the connection.
      context?.error(JSON.stringify({ level: 'error', activity: context.functionName, invocationId: context.invocationId, ...logFields(input), code, message: line }));
      throw new ActivityError(line);
    }
  };
}
