/** The connection orchestration and its activities (thin adapters over src/services). */
import * as df from 'durable-functions';
import { Activities, Orchestrations } from '../durable/names';
import { safeActivity } from '../durable/safe-activity';
import { connectionOrchestrator } from '../orchestrations/connection';
import type { MarkOutcomeInput } from '../orchestrations/connection-types';
import { getRuntime } from '../runtime';
import { exchangeCredentials, ExchangeInput } from '../services/exchange';
import { markOutcome } from '../services/mark-outcome';
import { refreshCredentials, RefreshInput } from '../services/refresh';
import { revokeConnection, RevokeInput } from '../services/revoke';
import { forgetToken } from '../services/token';

df.app.orchestration(Orchestrations.Connection, connectionOrchestrator);

df.app.activity(Activities.Exchange, {
  handler: safeActivity(async (input: ExchangeInput) => {
    const result = await exchangeCredentials(await getRuntime(), input);
    // A reauthorization replaces the credentials: this process must not serve the old token.
    forgetToken(input.clientId, input.connectionId);
    return result;
  }),
});

df.app.activity(Activities.Refresh, {
  handler: safeActivity(async (input: RefreshInput) => {
    const result = await refreshCredentials(await getRuntime(), input);
    forgetToken(input.clientId, input.connectionId);
    return result;
  }),
});

df.app.activity(Activities.Revoke, {
  handler: safeActivity(async (input: RevokeInput) => {
    forgetToken(input.clientId, input.connectionId);
    return revokeConnection(await getRuntime(), input);
  }),
});

df.app.activity(Activities.MarkOutcome, {
  handler: safeActivity(async (input: MarkOutcomeInput) => {
    await markOutcome(await getRuntime(), input);
    return { status: input.status };
  }),
});
