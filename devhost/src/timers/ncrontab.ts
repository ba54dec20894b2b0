/**
 * NCRONTAB schedules as the timer trigger reads them: six fields (second minute hour day month
 * day-of-week) or five (seconds = 0), each `*`, a value, a range `a-b`, a step `x/n` (a value `a/n`
 * means `a-max/n`), or a comma list of those; month and day names match by case-insensitive prefix
 * (`Jan`, `mon`, `T` = Tuesday). Day of month and day of week must BOTH match (unlike Vixie cron).
 * Occurrences are computed in UTC, the Functions default when `WEBSITE_TIME_ZONE` is not set.
 * @see https://github.com/atifaziz/NCrontab/blob/master/NCrontab/CrontabFieldImpl.cs
 * @see https://github.com/atifaziz/NCrontab/blob/master/NCrontab/CrontabSchedule.cs
 * @see https://github.com/Azure/azure-webjobs-sdk-extensions/blob/dev/src/WebJobs.Extensions/Extensions/Timers/Scheduling/CronSchedule.cs
 */

interface FieldSpec {
  label: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const FIELDS: readonly FieldSpec[] = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12, names: MONTHS },
  { label: 'day of week', min: 0, max: 6, names: DAYS },
];

/** Years searched for an occurrence before a schedule counts as never firing (e.g. `0 0 0 30 2 *`). */
const SEARCH_YEARS = 8;

export interface CronSchedule {
  /** The expression as written. */
  readonly expression: string;
  /** The six parsed fields, as sorted value lists. */
  readonly fields: readonly (readonly number[])[];
  /** The first occurrence strictly after `afterMs` (UTC, whole seconds), or undefined when there is none. */
  next(afterMs: number): number | undefined;
}

function fail(expression: string, why: string): never {
  throw new Error(`"${expression}" is not a valid NCRONTAB expression: ${why}`);
}

function parseValue(text: string, spec: FieldSpec, expression: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const lower = text.toLowerCase();
  const i = text === '' ? -1 : (spec.names?.findIndex((n) => n.toLowerCase().startsWith(lower)) ?? -1);
  if (i < 0) fail(expression, `"${text}" is not a ${spec.label} value (${spec.min}-${spec.max}${spec.names ? ' or a name' : ''})`);
  return i + spec.min;
}

function parseField(text: string, spec: FieldSpec, expression: string): number[] {
  const set = new Set<number>();
  for (const part of text.split(',')) {
    const slash = part.indexOf('/');
    const stepText = slash > 0 ? part.slice(slash + 1) : undefined;
    const body = slash > 0 ? part.slice(0, slash) : part;
    if (stepText !== undefined && !/^\d+$/.test(stepText)) fail(expression, `step "${stepText}" of the ${spec.label} field is not a number`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) fail(expression, `step of the ${spec.label} field must be at least 1`);
    let from: number;
    let to: number;
    if (body === '*') [from, to] = [spec.min, spec.max];
    else if (body.indexOf('-') > 0) {
      const dash = body.indexOf('-');
      from = parseValue(body.slice(0, dash), spec, expression);
      to = parseValue(body.slice(dash + 1), spec, expression);
      if (from > to) [from, to] = [to, from]; // NCrontab swaps a reversed range
    } else {
      from = parseValue(body, spec, expression);
      to = stepText === undefined ? from : spec.max;
    }
    if (from < spec.min || to > spec.max) fail(expression, `${spec.label} values must be ${spec.min}-${spec.max}`);
    for (let v = from; v <= to; v += step) set.add(v);
  }
  return [...set].sort((a, b) => a - b);
}

/** Parses a five- or six-field NCRONTAB expression; throws naming what is wrong. */
export function parseCron(expression: string): CronSchedule {
  const tokens = expression.trim().split(/\s+/).filter(Boolean);
  if (tokens.length !== 5 && tokens.length !== 6) {
    fail(expression, 'it needs six fields: second minute hour day month day-of-week (or five, without seconds)');
  }
  const all = tokens.length === 5 ? ['0', ...tokens] : tokens;
  const fields = all.map((t, i) => parseField(t, FIELDS[i], expression));
  const has = fields.map((values) => new Set(values));
  const [seconds, minutes, hours] = fields;
  const nextIn = (values: readonly number[], from: number) => values.find((v) => v >= from);

  const next = (afterMs: number): number | undefined => {
    const limit = new Date(afterMs).getUTCFullYear() + SEARCH_YEARS;
    let t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
    // Advance the coarsest field that does not match to its next allowed value, resetting finer ones.
    while (t.getUTCFullYear() <= limit) {
      const month = t.getUTCMonth() + 1;
      if (!has[4].has(month)) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
        continue;
      }
      if (!has[3].has(t.getUTCDate()) || !has[5].has(t.getUTCDay())) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1));
        continue;
      }
      const h = nextIn(hours, t.getUTCHours());
      if (h === undefined) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate() + 1));
        continue;
      }
      if (h !== t.getUTCHours()) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), h));
        continue;
      }
      const m = nextIn(minutes, t.getUTCMinutes());
      if (m === undefined) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), h + 1));
        continue;
      }
      if (m !== t.getUTCMinutes()) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), h, m));
        continue;
      }
      const s = nextIn(seconds, t.getUTCSeconds());
      if (s === undefined) {
        t = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), h, m + 1));
        continue;
      }
      return Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate(), h, m, s);
    }
    return undefined;
  };
  return { expression, fields, next };
}

/**
 * Whether the extension turns schedule monitoring off for this schedule, even when `useMonitor` is set
 * (TimerSchedule.Create → ShouldDisableScheduleMonitor): a six-field schedule that fires more than once
 * a minute while every field above seconds covers its whole range. The check reads the *expanded*
 * schedule, so `0-59` counts as `*`; five-field schedules fire at most once a minute and keep it.
 * @see https://github.com/Azure/azure-webjobs-sdk-extensions/blob/dev/src/WebJobs.Extensions/Extensions/Timers/Scheduling/TimerSchedule.cs
 */
export function monitorDisabledByFrequency(schedule: CronSchedule): boolean {
  if (schedule.expression.trim().split(/\s+/).length === 5) return false;
  const wholeRange = (values: readonly number[], i: number) => values.length === FIELDS[i].max - FIELDS[i].min + 1;
  return schedule.fields.every((values, i) => i === 0 || wholeRange(values, i)) && schedule.fields[0].length > 1;
}
