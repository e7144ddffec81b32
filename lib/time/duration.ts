// Durations as people write them (`500ms`, `90s`, `15m`, `2h`, `7d`) in milliseconds: the one
// parser for model specs and CLI flags. No Node imports: workflow code parses spec durations too.

/** Milliseconds per unit. */
export const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type DurationUnit = keyof typeof DURATION_UNITS_MS;

/** A number with a unit, a space between allowed (`90s`, `1.5h`, `500 ms`). */
export const DURATION_WITH_UNIT = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

export interface DurationOptions {
  /**
   * What a bare number (a `number`, or a string without a unit) counts. Model specs count
   * milliseconds, CLI flags seconds; there is no default, so every caller says which.
   */
  bareUnit: DurationUnit;
}

/** `value` in whole milliseconds: `15m` → 900000; `90` → 90 `bareUnit`s. Throws a RangeError. */
export function parseDurationMs(value: number | string, options: DurationOptions): number {
  if (typeof value === 'number') return Math.round(value * DURATION_UNITS_MS[options.bareUnit]);
  const m = DURATION.exec(value.trim());
  if (!m)
    throw new RangeError(
      `not a duration like 500ms, 30s, 15m, 2h or 7d (a bare number counts ${options.bareUnit}): ${JSON.stringify(value)}`,
    );
  return Math.round(Number(m[1]) * DURATION_UNITS_MS[(m[2] ?? options.bareUnit) as DurationUnit]);
}
