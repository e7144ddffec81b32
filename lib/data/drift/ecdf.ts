// Statistics on two empirical CDFs. Both are step functions, so sup and integral over the
// merged support points are exact for exact ECDFs (and as good as the quantization otherwise).
import type { Ecdf } from '../profile-types.ts';

function totalOf(ecdf: Ecdf, side: string): number {
  if (ecdf.values.length !== ecdf.counts.length) {
    throw new RangeError(`${side} ECDF has ${ecdf.values.length} values but ${ecdf.counts.length} counts`);
  }
  let total = 0;
  let previous = -Infinity;
  ecdf.values.forEach((v, i) => {
    const c = ecdf.counts[i] ?? 0;
    // The merge below relies on order; a profile bug should fail here, not skew D.
    if (!(v >= previous)) throw new RangeError(`${side} ECDF values must be sorted ascending (index ${i})`);
    if (!Number.isFinite(c) || c < 0) throw new RangeError(`${side} ECDF counts must be finite and ≥ 0, got ${c}`);
    previous = v;
    total += c;
  });
  if (total === 0) throw new RangeError(`${side} ECDF is empty`);
  return total;
}

/** Walks the merged support in order, calling `step(x, Fref(x), Fcur(x))` once per distinct
 * point with the right-continuous CDF values (mass at x included). */
function walkMerged(ref: Ecdf, cur: Ecdf, step: (x: number, fRef: number, fCur: number) => void): void {
  const nRef = totalOf(ref, 'reference');
  const nCur = totalOf(cur, 'current');
  let i = 0;
  let j = 0;
  let cumRef = 0;
  let cumCur = 0;
  while (i < ref.values.length || j < cur.values.length) {
    const x = Math.min(ref.values[i] ?? Infinity, cur.values[j] ?? Infinity);
    while (i < ref.values.length && ref.values[i] === x) cumRef += ref.counts[i++] ?? 0;
    while (j < cur.values.length && cur.values[j] === x) cumCur += cur.counts[j++] ?? 0;
    step(x, cumRef / nRef, cumCur / nCur);
  }
}

/**
 * Counts per bin for `edges` (ascending, at least two). Values below the first edge go to the
 * first bin and above the last to the last bin, matching the profile histogram; a value on an
 * inner edge belongs to the bin on its right, and the last edge is inclusive.
 */
export function binEcdf(ecdf: Ecdf, edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  if (bins < 1) throw new RangeError(`need at least 2 edges, got ${edges.length}`);
  for (let k = 1; k < edges.length; k++) {
    if (!((edges[k] ?? NaN) >= (edges[k - 1] ?? NaN))) throw new RangeError(`edges must be sorted ascending (index ${k})`);
  }
  if (ecdf.values.length !== ecdf.counts.length) {
    throw new RangeError(`ECDF has ${ecdf.values.length} values but ${ecdf.counts.length} counts`);
  }
  const out = new Array<number>(bins).fill(0);
  ecdf.values.forEach((v, i) => {
    // First edge index strictly above v; the bin is the one that edge closes.
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((edges[mid] ?? Infinity) > v) hi = mid;
      else lo = mid + 1;
    }
    const bin = Math.min(bins - 1, Math.max(0, lo - 1));
    out[bin] = (out[bin] ?? 0) + (ecdf.counts[i] ?? 0);
  });
  return out;
}

/** Two-sample Kolmogorov–Smirnov statistic D = sup |F_ref − F_cur|, in [0, 1]. */
export function ksStatistic(ref: Ecdf, cur: Ecdf): number {
  let d = 0;
  walkMerged(ref, cur, (_x, fRef, fCur) => {
    d = Math.max(d, Math.abs(fRef - fCur));
  });
  return d;
}

/** First Wasserstein (earth mover's) distance W1 = ∫ |F_ref − F_cur| dx, in the feature's units. */
export function wassersteinDistance(ref: Ecdf, cur: Ecdf): number {
  let area = 0;
  let previous: { x: number; gap: number } | undefined;
  walkMerged(ref, cur, (x, fRef, fCur) => {
    // Both CDFs are flat between support points, so each gap is a rectangle.
    if (previous) area += previous.gap * (x - previous.x);
    previous = { x, gap: Math.abs(fRef - fCur) };
  });
  return area;
}

/**
 * W1 divided by the reference standard deviation (Evidently's "normed Wasserstein"), so one
 * threshold fits features in any unit: 0.1 means a tenth of a standard deviation. When
 * `refStd` is 0, null or not finite (a constant or empty reference) it divides by 1 and
 * returns W1 in the feature's units: any movement off a constant is then visible at its size.
 */
export function normalizedWasserstein(ref: Ecdf, cur: Ecdf, refStd: number | null): number {
  const scale = refStd !== null && Number.isFinite(refStd) && refStd > 0 ? refStd : 1;
  return wassersteinDistance(ref, cur) / scale;
}
