// Deterministic splits. By time: rows up to the 70th percentile of time train, up to the 85th
// validate, the rest test (fractions configurable); rows sharing a boundary timestamp all fall on
// the earlier side. Without a time column: by a fixed hash of the row's position, so the same data
// always splits the same way.
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

/** The fractions with their defaults, checked: 0 < train, 0 ≤ validation, train + validation < 1. */
export function resolveFractions(fractions: SplitFractions = {}): Required<SplitFractions> {
  const train = fractions.train ?? 0.7;
  const validation = fractions.validation ?? 0.15;
  if (!(train > 0 && validation >= 0 && train + validation < 1)) {
    throw new RangeError(`split fractions must satisfy 0 < train, 0 ≤ validation, train + validation < 1 (got ${train}, ${validation})`);
  }
  return { train, validation };
}

export async function timeSplitCutoffs(
  duck: Duck,
  from: string,
  timeColumn: string,
  fractions: SplitFractions = {},
  signal?: AbortSignal,
): Promise<SplitCutoffs> {
  const { train, validation } = resolveFractions(fractions);
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

/** Knuth's multiplicative hash of a row position, as a fraction in [0, 1): spreads consecutive
 * rows evenly over the unit interval, and is plain arithmetic, so no engine upgrade changes it. */
export function rowHashSql(position: string): string {
  return `((${position})::HUGEINT * 2654435761 % 4294967296)::DOUBLE / 4294967296`;
}

/** A CASE naming each row's split ('train' | 'validation' | 'test') by the hash of its position
 * (e.g. `rowid` of a table loaded in file order). */
export function hashSplitSql(position: string, fractions: SplitFractions = {}): string {
  const { train, validation } = resolveFractions(fractions);
  const u = rowHashSql(position);
  return `CASE WHEN ${u} < ${train} THEN 'train' WHEN ${u} < ${train + validation} THEN 'validation' ELSE 'test' END`;
}

/** A CASE naming each row's split by time; rows with no time get NULL. */
export function timeSplitSql(timeColumn: string, cutoffs: SplitCutoffs): string {
  return `CASE WHEN ${splitPredicate('train', timeColumn, cutoffs)} THEN 'train' WHEN ${splitPredicate('validation', timeColumn, cutoffs)} THEN 'validation' WHEN ${splitPredicate('test', timeColumn, cutoffs)} THEN 'test' END`;
}
