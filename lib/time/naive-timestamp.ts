// One home for naive-timestamp maths (the flights encoder and the tabular feature encoder share
// it). Calendar parts of naive timestamps held as epoch milliseconds (UTC math: the value is the local
// wall-clock time with no zone). Integer arithmetic only, so encoding allocates no Date per row.

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/** Hour of day 0–23. */
export function hourOfMs(ms: number): number {
  return Math.floor((((ms % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR);
}

/** Day of week, Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday). */
export function dayOfWeekOfMs(ms: number): number {
  return (((Math.floor(ms / MS_PER_DAY) + 3) % 7) + 7) % 7;
}

/** Civil date of a day number (days since 1970-01-01), Howard Hinnant's `civil_from_days`, packed
 * as year × 512 + month (1–12) × 32 + day (1–31) so no object is allocated. */
function civil(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 512 + m * 32 + d;
}

/** Month 0–11 (January = 0). */
export function monthOfMs(ms: number): number {
  return (Math.floor(civil(Math.floor(ms / MS_PER_DAY)) / 32) % 16) - 1;
}

/** Day of month 1–31. */
export function dayOfMonthOfMs(ms: number): number {
  return civil(Math.floor(ms / MS_PER_DAY)) % 32;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in the month of the timestamp (28–31): the period of the cyclic day-of-month encoding. */
export function daysInMonthOfMs(ms: number): number {
  const c = civil(Math.floor(ms / MS_PER_DAY));
  const y = Math.floor(c / 512);
  const m = Math.floor(c / 32) % 16;
  if (m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) return 29;
  return DAYS_IN_MONTH[m - 1]!;
}

/** The text form a naive timestamp takes (the parser's pattern; the serving schema publishes its
 * source as the JSON Schema pattern). */
export const NAIVE_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?$/;

/** Parses a naive timestamp (`2001-03-04T13:45:00`, `2001-03-04 13:45`) or, unless `requireTime`,
 * a date (`2001-03-04`) to epoch ms. Returns null when malformed or when it carries a zone, which
 * would shift the parts. */
export function parseNaiveTimestampMs(value: string, options: { requireTime?: boolean } = {}): number | null {
  // The common full form (`2001-03-04T13:45:00`, 19 characters) read digit by digit: a server
  // parses one per request. Everything else takes the pattern below; both accept the same strings
  // and give the same value (a unit test compares them).
  if (value.length === 19) return parseFullForm(value);
  return parseNaiveTimestampByPattern(value, options);
}

/** parseNaiveTimestampMs through the pattern alone, for every form (the reference the fast path of
 * the full form is tested against). */
export function parseNaiveTimestampByPattern(value: string, options: { requireTime?: boolean } = {}): number | null {
  const m = NAIVE_TIMESTAMP.exec(value);
  if (!m) return null;
  if (options.requireTime && m[4] === undefined) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) + (m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0);
  const back = new Date(ms);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo - 1) return null; // e.g. Feb 30
  return ms;
}

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `YYYY-MM-DD[T ]HH:MM:SS` to epoch ms, or null (parseNaiveTimestampMs's rules). */
function parseFullForm(s: string): number | null {
  const sep = s.charCodeAt(10);
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58)
    return null;
  const y1 = twoDigits(s, 0);
  const y2 = twoDigits(s, 2);
  const mo = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  const h = twoDigits(s, 11);
  const mi = twoDigits(s, 14);
  const sec = twoDigits(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return null;
  const y = y1 * 100 + y2;
  // Date.UTC reads years 0–99 as 1900–1999; the day check follows the year it used.
  const year = y <= 99 ? 1900 + y : y;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!)) return null; // e.g. Feb 30
  return Date.UTC(y, mo - 1, d, h, mi, sec);
}
