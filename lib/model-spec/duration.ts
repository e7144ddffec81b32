// Spec durations (`90s`, `15m`, `2h`, `7d`, or a number of milliseconds), parsed by the one
// duration parser (lib/time/duration.ts). No Node imports: workflow code uses this too.
import { DURATION_WITH_UNIT, parseDurationMs } from '../time/duration.ts';

/** A spec duration written as a string needs its unit; a plain number is milliseconds. */
export const DURATION_PATTERN = DURATION_WITH_UNIT;

/** Milliseconds of a spec duration (`15m` → 900000, `250` → 250). */
export function durationMs(value: number | string): number {
  return parseDurationMs(value, { bareUnit: 'ms' });
}
