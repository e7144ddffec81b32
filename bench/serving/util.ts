// Small helpers of bench:serving: rotating the order of variants round by round, and
// formatting and reducing numbers.
import { median } from '../lib.ts';

export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Median over rounds of a per-round ratio (rounds where the denominator is 0 are skipped). */
export function medianRatio(values: readonly [number, number][]): number {
  const ratios = values.filter(([, b]) => b > 0).map(([a, b]) => a / b);
  return ratios.length ? median(ratios) : Number.NaN;
}
