'use strict';
// Registers the timers TIMER_FIXTURE lists ([{name, schedule, runOnStartup?, useMonitor?, busyMs?}]);
// every invocation appends one JSON line to TIMER_LOG: which function, which host, what it was given, when.
const { app } = require('@azure/functions');
const fs = require('node:fs');

for (const t of JSON.parse(process.env.TIMER_FIXTURE || '[]')) {
  app.timer(t.name, {
    schedule: t.schedule,
    runOnStartup: t.runOnStartup,
    useMonitor: t.useMonitor,
    handler: async (timer, context) => {
      const started = Date.now();
      if (t.busyMs) await new Promise((r) => setTimeout(r, t.busyMs));
      const entry = { fn: context.functionName, worker: process.env.WEBSITE_INSTANCE_ID, timer, started, ended: Date.now() };
      fs.appendFileSync(process.env.TIMER_LOG, JSON.stringify(entry) + '\n');
    },
  });
}
