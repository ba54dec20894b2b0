/**
 * .NET TimeSpan strings (`[-][d.]hh:mm:ss[.fffffff]`), the format the Durable extension sends for timer
 * settings and the SDK parses with moment.
 * @see https://learn.microsoft.com/dotnet/standard/base-types/standard-timespan-format-strings
 */
const TIMESPAN = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/;

/** Milliseconds in a TimeSpan string; throws naming `what` when malformed. */
export function parseTimeSpanMs(text: string, what: string): number {
  const m = TIMESPAN.exec(text.trim());
  if (!m) throw new Error(`${what}: "${text}" is not a TimeSpan like "d.hh:mm:ss" or "hh:mm:ss.fff"`);
  const [, neg, d, h, min, s, frac] = m;
  const ms =
    Number(d ?? 0) * 86_400_000 + Number(h) * 3_600_000 + Number(min) * 60_000 + Number(s) * 1000 + (frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
  return neg ? -ms : ms;
}
