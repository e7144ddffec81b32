// Builds dataset profiles from raw arrays, so drift tests can start from samples whose
// distributions they know. Shapes follow lib/data/profile-types.ts; the real profiles come
// from DuckDB.
import { Rng } from '../../../lib/random.ts';
import {
  CATEGORY_MAX_VALUES,
  ECDF_MAX_POINTS,
  HISTOGRAM_BINS,
  type CategoricalProfile,
  type DatasetProfile,
  type Ecdf,
  type FeatureProfile,
  type NumericProfile,
} from '../../../lib/data/profile-types.ts';

/** A seeded uniform generator in [0, 1): the library's mulberry32. */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** `n` draws from Normal(mean, std) by Box–Muller. */
export function normalSample(n: number, mean: number, std: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  while (out.length < n) {
    // 1 − u keeps log away from 0.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const theta = 2 * Math.PI * rand();
    out.push(mean + std * r * Math.cos(theta));
    if (out.length < n) out.push(mean + std * r * Math.sin(theta));
  }
  return out;
}

/** `n` draws from the categories in `weights` (relative, need not sum to 1). */
export function categoricalSample(n: number, weights: Record<string, number>, seed: number): string[] {
  const rand = mulberry32(seed);
  const entries = Object.entries(weights);
  const total = entries.reduce((a, [, w]) => a + w, 0);
  return Array.from({ length: n }, () => {
    let u = rand() * total;
    for (const [value, w] of entries) {
      u -= w;
      if (u < 0) return value;
    }
    return entries[entries.length - 1]?.[0] ?? '';
  });
}

function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? NaN;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? NaN;
  return a + (b - a) * (h - lo);
}

// Exact when there are few distinct values; otherwise equal-count chunks, each at its mean, so
// the quantized ECDF keeps the sample's mean.
function ecdfOf(sorted: readonly number[], maxPoints: number): Ecdf {
  const values: number[] = [];
  const counts: number[] = [];
  const push = (v: number, c: number): void => {
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1] = (counts[counts.length - 1] ?? 0) + c;
    else {
      values.push(v);
      counts.push(c);
    }
  };
  for (const v of sorted) push(v, 1);
  if (values.length <= maxPoints) return { values, counts, exact: true };

  values.length = 0;
  counts.length = 0;
  for (let k = 0; k < maxPoints; k++) {
    const chunk = sorted.slice(Math.floor((k * sorted.length) / maxPoints), Math.floor(((k + 1) * sorted.length) / maxPoints));
    if (chunk.length > 0) push(chunk.reduce((a, b) => a + b, 0) / chunk.length, chunk.length);
  }
  return { values, counts, exact: false };
}

export function numericProfile(
  raw: ReadonlyArray<number | null>,
  { bins = HISTOGRAM_BINS, maxPoints = ECDF_MAX_POINTS }: { bins?: number; maxPoints?: number } = {},
): NumericProfile {
  const sorted = raw.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const n = sorted.length;
  const base = { kind: 'numeric' as const, count: raw.length, nulls: raw.length - n };
  const min = sorted[0];
  const max = sorted[n - 1];
  if (min === undefined || max === undefined) {
    const empty = { min: null, max: null, mean: null, std: null, quantiles: {} };
    return { ...base, ...empty, histogram: { edges: [], counts: [] }, ecdf: { values: [], counts: [], exact: true } };
  }
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  // Population std, as lib/data/profile.ts takes it (stddev_pop).
  const std = Math.sqrt(sorted.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
  const quantiles: Record<string, number> = {};
  for (const p of [1, 5, 25, 50, 75, 95, 99]) quantiles[`p${String(p).padStart(2, '0')}`] = quantile(sorted, p / 100);
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? max : min + ((max - min) * k) / bins));
  const counts = new Array<number>(bins).fill(0);
  for (const v of sorted) {
    const k = max === min ? bins - 1 : Math.min(bins - 1, Math.floor(((v - min) / (max - min)) * bins));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return { ...base, min, max, mean, std, quantiles, histogram: { edges, counts }, ecdf: ecdfOf(sorted, maxPoints) };
}

export function categoricalProfile(raw: ReadonlyArray<string | null>, maxValues = CATEGORY_MAX_VALUES): CategoricalProfile {
  const byValue = new Map<string, number>();
  let nulls = 0;
  for (const v of raw) {
    if (v === null) nulls++;
    else byValue.set(v, (byValue.get(v) ?? 0) + 1);
  }
  const all = [...byValue].map(([value, count]) => ({ value, count }));
  all.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
  const top = all.slice(0, maxValues);
  const otherCount = all.slice(maxValues).reduce((a, t) => a + t.count, 0);
  return { kind: 'categorical', count: raw.length, nulls, distinct: byValue.size, top, otherCount };
}

export function datasetProfile(source: string, features: Record<string, FeatureProfile>): DatasetProfile {
  const rows = Math.max(0, ...Object.values(features).map((f) => f.count));
  return { source, rows, features };
}
