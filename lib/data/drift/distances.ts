// Distances between two distributions given as counts over the same bins or categories.
// Counts, not proportions, go in, and each side is normalized here, so a caller cannot mix
// raw counts with shares.
import { DRIFT_DEFAULTS } from './options.ts';

/** Counts per category, from a Map or a plain object (JSON). */
export type CategoryCounts = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

function toProportions(counts: readonly number[], side: string): number[] {
  let total = 0;
  for (const c of counts) {
    if (!Number.isFinite(c) || c < 0) throw new RangeError(`${side} counts must be finite and ≥ 0, got ${c}`);
    total += c;
  }
  // An empty side has no distribution; a number here would be a silent "no drift".
  if (total === 0) throw new RangeError(`${side} counts sum to 0`);
  return counts.map((c) => c / total);
}

function aligned(refCounts: readonly number[], curCounts: readonly number[]): [number[], number[]] {
  if (refCounts.length !== curCounts.length) {
    throw new RangeError(`bins differ: ${refCounts.length} reference vs ${curCounts.length} current`);
  }
  return [toProportions(refCounts, 'reference'), toProportions(curCounts, 'current')];
}

/**
 * Population Stability Index, Σ (q − p)·ln(q / p), over aligned bins. Proportions below
 * `epsilon` are raised to it, as Evidently does, so a bin empty on one side costs a large but
 * finite amount instead of infinity.
 */
export function psi(refCounts: readonly number[], curCounts: readonly number[], epsilon: number = DRIFT_DEFAULTS.psiEpsilon): number {
  if (!(epsilon > 0)) throw new RangeError(`epsilon must be > 0, got ${epsilon}`);
  const [p, q] = aligned(refCounts, curCounts);
  let sum = 0;
  p.forEach((pi, i) => {
    const a = Math.max(pi, epsilon);
    const b = Math.max(q[i] ?? 0, epsilon);
    sum += (b - a) * Math.log(b / a);
  });
  return sum;
}

/** Jensen–Shannon distance over aligned bins, log base 2, so in [0, 1]. */
export function jensenShannonOfCounts(refCounts: readonly number[], curCounts: readonly number[]): number {
  const [p, q] = aligned(refCounts, curCounts);
  let divergence = 0;
  p.forEach((pi, i) => {
    const qi = q[i] ?? 0;
    const m = (pi + qi) / 2;
    // 0·log(0) is 0; skipping avoids NaN for categories present on one side only.
    if (pi > 0) divergence += 0.5 * pi * Math.log2(pi / m);
    if (qi > 0) divergence += 0.5 * qi * Math.log2(qi / m);
  });
  // Rounding can leave the divergence a hair outside [0, 1].
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/** Hellinger distance over aligned bins, in [0, 1]. */
export function hellingerOfCounts(refCounts: readonly number[], curCounts: readonly number[]): number {
  const [p, q] = aligned(refCounts, curCounts);
  // The sum-of-squares form, not sqrt(1 − Σ√(pq)): that one cancels badly near 0, so two
  // identical distributions would come out as ~1e-8 instead of 0.
  let sum = 0;
  p.forEach((pi, i) => {
    const d = Math.sqrt(pi) - Math.sqrt(q[i] ?? 0);
    sum += d * d;
  });
  return Math.min(1, Math.sqrt(sum / 2));
}

function entriesOf(counts: CategoryCounts): Iterable<[string, number]> {
  return counts instanceof Map ? counts.entries() : Object.entries(counts);
}

/** Both sides' counts over the union of categories, 0 where a side lacks one: reference
 * categories in their order, then categories only the current side has. */
export function alignCategories(ref: CategoryCounts, cur: CategoryCounts): { categories: string[]; ref: number[]; cur: number[] } {
  const index = new Map<string, number>();
  const refOut: number[] = [];
  const curOut: number[] = [];
  const slot = (category: string): number => {
    let i = index.get(category);
    if (i === undefined) {
      i = index.size;
      index.set(category, i);
      refOut.push(0);
      curOut.push(0);
    }
    return i;
  };
  for (const [category, n] of entriesOf(ref)) refOut[slot(category)] = n;
  for (const [category, n] of entriesOf(cur)) curOut[slot(category)] = n;
  return { categories: [...index.keys()], ref: refOut, cur: curOut };
}

/** Jensen–Shannon distance between two categorical distributions (sqrt of the divergence,
 * log base 2, so in [0, 1]); a category missing on one side counts as 0 there. */
export function jensenShannonDistance(ref: CategoryCounts, cur: CategoryCounts): number {
  const a = alignCategories(ref, cur);
  return jensenShannonOfCounts(a.ref, a.cur);
}

/** Hellinger distance between two categorical distributions, in [0, 1]. */
export function hellingerDistance(ref: CategoryCounts, cur: CategoryCounts): number {
  const a = alignCategories(ref, cur);
  return hellingerOfCounts(a.ref, a.cur);
}
