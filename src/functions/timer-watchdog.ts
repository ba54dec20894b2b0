/** The watchdog's timer trigger: one sweep per schedule (NCRONTAB), at most one run at a time across hosts. */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { watchdogSchedule } from '../config';
import { getWiring } from '../runtime';
import { sweep } from '../services/watchdog';

app.timer('watchdog', {
  schedule: watchdogSchedule(process.env),
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, invocation) => {
    const report = await sweep(await getWiring().runtimeFor(invocation));
    invocation.log(`watchdog sweep ${JSON.stringify(report)}`);
  },
});
