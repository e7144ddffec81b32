// Deterministic time-based splits: rows up to the 70th percentile of time train, up to the 85th
// validate, the rest test (fractions configurable). Rows sharing a boundary timestamp all fall
// on the earlier side, so the same data always splits the same way.
import type { Duck } from './duck.ts';

export interface SplitFractions {
  /** @default 0.7 */
  train?: number;
  /** @default 0.15 */
  validation?: number;
}

export interface SplitCutoffs {
  /** Rows with time ≤ trainEnd are training rows. */
  trainEnd: string;
  /** Rows with trainEnd < time ≤ validationEnd are validation rows; later rows are test rows. */
  validationEnd: string;
}

export async function timeSplitCutoffs(
  duck: Duck,
  from: string,
  timeColumn: string,
  fractions: SplitFractions = {},
  signal?: AbortSignal,
): Promise<SplitCutoffs> {
  const train = fractions.train ?? 0.7;
  const validation = fractions.validation ?? 0.15;
  if (train <= 0 || validation < 0 || train + validation >= 1) {
    throw new RangeError(`split fractions must satisfy 0 < train, 0 ≤ validation, train + validation < 1 (got ${train}, ${validation})`);
  }
  const [row] = await duck.all<{ a: Date; b: Date }>(
    `SELECT quantile_disc(${timeColumn}, ${train}) AS a, quantile_disc(${timeColumn}, ${train + validation}) AS b FROM ${from}`,
    signal,
  );
  if (!row?.a || !row.b) throw new RangeError('cannot split an empty table');
  return { trainEnd: toIso(row.a), validationEnd: toIso(row.b) };
}

function toIso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString().replace('Z', '');
}

export function splitPredicate(split: 'train' | 'validation' | 'test', timeColumn: string, cutoffs: SplitCutoffs): string {
  const a = `TIMESTAMP '${cutoffs.trainEnd}'`;
  const b = `TIMESTAMP '${cutoffs.validationEnd}'`;
  if (split === 'train') return `${timeColumn} <= ${a}`;
  if (split === 'validation') return `${timeColumn} > ${a} AND ${timeColumn} <= ${b}`;
  return `${timeColumn} > ${b}`;
}
