/** The daily health-probe sweep for credentials that never expire (src/services/probe-credentials.ts). */
import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { probeSchedule } from '../config';
import { getWiring } from '../runtime';
import { probeCredentials } from '../services/probe-credentials';

app.timer('probeCredentials', {
  schedule: probeSchedule(process.env),
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const result = await probeCredentials(await getWiring().runtimeFor(context));
    context.log(JSON.stringify({ level: 'info', msg: 'credential probes done', probed: result.probed, revoked: result.revoked.length }));
  },
});
