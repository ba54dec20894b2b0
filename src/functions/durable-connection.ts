/** The connection orchestration and its activities (thin adapters over src/services). */
import * as df from 'durable-functions';
import type { MarkOutcomeInput } from '../durable/contract';
import { Activities, Orchestrations } from '../durable/names';
import { safeActivity } from '../durable/safe-activity';
import { connectionOrchestrator } from '../orchestrations/connection';
import { getWiring } from '../runtime';
import { observedRefresh } from '../services/observed-refresh';
import { exchangeCredentials, ExchangeInput, pollDeviceAuthorization } from '../services/exchange';
import { markOutcome } from '../services/mark-outcome';
import { refreshCredentials, RefreshInput } from '../services/refresh';
import { revokeConnection, RevokeInput } from '../services/revoke';

df.app.orchestration(Orchestrations.Connection, connectionOrchestrator);

df.app.activity(Activities.Exchange, {
  // The durable client wakes the connection an account is merged into (src/services/merge-account.ts).
  extraInputs: [df.input.durableClient()],
  handler: safeActivity(async (input: ExchangeInput, context) => exchangeCredentials(await getWiring().runtimeFor(context), input)),
});

df.app.activity(Activities.PollDeviceToken, {
  extraInputs: [df.input.durableClient()],
  handler: safeActivity(async (input: ExchangeInput, context) => pollDeviceAuthorization(await getWiring().runtimeFor(context), input)),
});

df.app.activity(Activities.Refresh, {
  handler: safeActivity(async (input: RefreshInput, context) => {
    const runtime = await getWiring().runtimeFor(context);
    return runtime.telemetry.inSpan(`activity ${Activities.Refresh}`, 'internal', { 'broker.connection_id': input.connectionId }, () =>
      observedRefresh(runtime, input, () => refreshCredentials(runtime, input)),
    );
  }),
});

df.app.activity(Activities.Revoke, {
  handler: safeActivity(async (input: RevokeInput, context) => revokeConnection(await getWiring().runtimeFor(context), input)),
});

df.app.activity(Activities.MarkOutcome, {
  handler: safeActivity(async (input: MarkOutcomeInput, context) => {
    const status = await markOutcome(await getWiring().runtimeFor(context), input);
    return { status: status ?? input.status };
  }),
});
