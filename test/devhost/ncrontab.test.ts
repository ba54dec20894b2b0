/**
 * NCRONTAB schedules as the timer trigger reads them (NCrontab's field grammar, six or five fields,
 * day of month AND day of week), and the extension's rule that switches the schedule monitor off.
 */
import { monitorDisabledByFrequency, parseCron } from '../../devhost/src/timers/ncrontab';

const at = (iso: string) => Date.parse(iso);

function occurrences(expression: string, fromIso: string, count: number): string[] {
  const schedule = parseCron(expression);
  const out: string[] = [];
  let t = at(fromIso);
  for (let i = 0; i < count; i++) {
    const next = schedule.next(t);
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    t = next;
  }
  return out;
}

describe('When a six-field schedule is read', () => {
  test('then steps on minutes fire on the step, at second 0, strictly after the base time', () => {
    expect(occurrences('0 */5 * * * *', '2026-12-06T20:45:00Z', 2)).toEqual(['2026-12-06T20:50:00.000Z', '2026-12-06T20:55:00.000Z']);
    expect(occurrences('0 */5 * * * *', '2026-12-06T20:41:13.500Z', 1)).toEqual(['2026-12-06T20:45:00.000Z']);
  });

  test('then a value with a step runs from that value to the maximum, and a range with a step stays inside it', () => {
    expect(occurrences('5/15 * * * * *', '2026-12-06T20:00:00Z', 5).map((s) => s.slice(17, 19))).toEqual(['05', '20', '35', '50', '05']);
    expect(occurrences('10-40/10 * * * * *', '2026-12-06T20:00:00Z', 5).map((s) => s.slice(17, 19))).toEqual(['10', '20', '30', '40', '10']);
  });

  test('then a day-of-week range skips the weekend', () => {
    expect(occurrences('0 30 9 * * 1-5', '2026-12-04T10:00:00Z', 2)).toEqual(['2026-12-07T09:30:00.000Z', '2026-12-08T09:30:00.000Z']);
  });

  test('then month and day names match by case-insensitive prefix', () => {
    expect(occurrences('0 0 12 * Jan,jul Mon', '2026-12-06T00:00:00Z', 2)).toEqual(['2027-01-04T12:00:00.000Z', '2027-01-11T12:00:00.000Z']);
    expect(occurrences('0 0 0 * * T', '2026-12-06T00:00:00Z', 1)).toEqual(['2026-12-08T00:00:00.000Z']); // T → Tuesday, the first name it prefixes
    expect(occurrences('0 0 0 1 Ju *', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-06-01T00:00:00.000Z']); // Ju → June before July
  });

  test('then day of month and day of week must both match', () => {
    expect(occurrences('0 0 0 13 * Fri', '2026-01-01T00:00:00Z', 3)).toEqual([
      '2026-02-13T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-11-13T00:00:00.000Z',
    ]);
  });

  test('then days a month does not have are skipped, and a date that never comes gives no occurrence', () => {
    expect(occurrences('0 0 0 31 * *', '2026-04-15T00:00:00Z', 2)).toEqual(['2026-05-31T00:00:00.000Z', '2026-07-31T00:00:00.000Z']);
    expect(occurrences('0 0 0 29 2 *', '2026-03-01T00:00:00Z', 1)).toEqual(['2028-02-29T00:00:00.000Z']);
    expect(parseCron('0 0 0 30 2 *').next(at('2026-01-01T00:00:00Z'))).toBeUndefined();
  });

  test('then lists, reversed ranges and a year boundary work', () => {
    expect(occurrences('0 0 6,18 * * *', '2026-12-31T12:00:00Z', 3)).toEqual([
      '2026-12-31T18:00:00.000Z',
      '2027-01-01T06:00:00.000Z',
      '2027-01-01T18:00:00.000Z',
    ]);
    expect(parseCron('50-10 * * * * *').fields[0]).toEqual(Array.from({ length: 41 }, (_, i) => 10 + i)); // NCrontab swaps the ends
  });
});

describe('When a five-field schedule is read', () => {
  test('then it has no seconds field and fires at second 0', () => {
    expect(occurrences('*/15 * * * *', '2026-12-06T20:01:30Z', 2)).toEqual(['2026-12-06T20:15:00.000Z', '2026-12-06T20:30:00.000Z']);
  });
});

describe('When a schedule is malformed', () => {
  test.each([
    ['* * * *', /six fields/],
    ['60 * * * * *', /second values must be 0-59/],
    ['0 0 24 * * *', /hour values must be 0-23/],
    ['0 0 0 0 * *', /day values must be 1-31/],
    ['* * * * * Funday', /"Funday" is not a day of week value/],
    ['*/0 * * * * *', /step of the second field must be at least 1/],
    ['*/x * * * * *', /step "x" of the second field is not a number/],
    ['a * * * * *', /"a" is not a second value/],
  ])('then "%s" is refused naming the fault', (expression, message) => {
    expect(() => parseCron(expression)).toThrow(message);
  });
});

describe('When the schedule monitor is considered', () => {
  test('then a sub-minute schedule whose other fields cover their whole range turns it off, as the extension does', () => {
    expect(monitorDisabledByFrequency(parseCron('*/5 * * * * *'))).toBe(true);
    expect(monitorDisabledByFrequency(parseCron('*/5 0-59 * * * *'))).toBe(true); // expanded, 0-59 is *
  });

  test('then once a minute, a restricted higher field, or five fields keep it on', () => {
    expect(monitorDisabledByFrequency(parseCron('0 * * * * *'))).toBe(false);
    expect(monitorDisabledByFrequency(parseCron('*/5 0-58 * * * *'))).toBe(false);
    expect(monitorDisabledByFrequency(parseCron('* * * * *'))).toBe(false);
  });
});
