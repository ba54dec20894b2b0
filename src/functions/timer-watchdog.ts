/** The watchdog's timer trigger: one sweep per schedule (NCRONTAB), at most one run at a time across hosts; then the audit trail's retention. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { watchdogSchedule } from '../config';
import { getWiring } from '../runtime';
import { sweep } from '../services/watchdog';

app.timer('watchdog', {
  schedule: watchdogSchedule(process.env),
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, invocation) => {
    const runtime = await getWiring().runtimeFor(invocation);
    const report = await sweep(runtime);
    // Events past BROKER_AUDIT_RETENTION_DAYS go with the same schedule.
    const auditEventsPruned = await runtime.audit.prune();
    invocation.log(`watchdog sweep ${JSON.stringify({ ...report, auditEventsPruned })}`);
  },
});
