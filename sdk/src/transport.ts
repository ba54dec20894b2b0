import { BrokerApiError } from './errors';
import { decideRetry, RetryPolicy } from './retry';

/** The side effects the client uses, all injectable so tests can drive time and the network. */
export interface Environment {
  fetch: typeof fetch;
  /** Milliseconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1); spreads back-off delays. */
  random: () => number;
}

export const defaultEnvironment = (): Environment => ({
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
});

export interface OutgoingRequest {
  method: string;
  url: string;
  headers: Headers;
  /** Only bodies that can be sent twice, so a retry sends the same bytes. */
  body?: string | Uint8Array | URLSearchParams;
  /** False for requests a retry could repeat with effect (proxied POST/PATCH). */
  retryable: boolean;
}

export interface Answer {
  response: Response;
  attempts: number;
  retryAfterMs?: number;
}

/** Sends a request, again after 429/503 as the policy allows; network failures are `NETWORK_ERROR`. */
export async function send(request: OutgoingRequest, policy: RetryPolicy, env: Environment): Promise<Answer> {
  for (let attempts = 1; ; attempts++) {
    let response: Response;
    try {
      response = await env.fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual' });
    } catch (cause) {
      throw new BrokerApiError('NETWORK_ERROR', `${request.method} ${new URL(request.url).pathname} got no answer: ${String((cause as Error)?.message ?? cause)}`, { status: 0, attempts, cause });
    }
    const decision = decideRetry(response.status, response.headers.get('retry-after'), request.retryable ? attempts : policy.maxAttempts, policy, env);
    if (decision.delayMs === undefined) return { response, attempts, retryAfterMs: decision.retryAfterMs };
    // Free the connection of the answer being dropped before waiting.
    await response.body?.cancel().catch(() => undefined);
    await env.sleep(decision.delayMs);
  }
}
