// The B8 baseline: the same profile computed the naive way — every row a JS object, every
// statistic a loop over those objects, quantiles by sorting. Kept deliberately straightforward.
import type { Duck } from '../lib/data/duck.ts';
import { ECDF_MAX_POINTS, type DatasetProfile, type FeatureProfile } from '../lib/data/profile-types.ts';
import { percentile } from '../lib/percentile.ts';

type Row = { date: Date; delay: number | null; distance: number | null; origin: string | null; destination: string | null };

const NUMERIC: Record<string, (r: Row) => number | null> = {
  hour: (r) => r.date.getUTCHours(),
  day_of_week: (r) => (r.date.getUTCDay() + 6) % 7,
  distance: (r) => r.distance,
  delay: (r) => r.delay,
};
const RANGES: Record<string, [number, number, number]> = { hour: [0, 24, 24], day_of_week: [0, 7, 7] };

export async function naiveProfile(duck: Duck, from: string, source: string, reference?: DatasetProfile): Promise<DatasetProfile> {
  const rows = (await duck.all(`SELECT date, delay, distance, origin, destination FROM ${from}`)) as Row[];
  const features: Record<string, FeatureProfile> = {};
  for (const [name, get] of Object.entries(NUMERIC)) {
    const values: number[] = [];
    for (const r of rows) {
      const v = get(r);
      if (v !== null && v !== undefined) values.push(v);
    }
    const n = values.length;
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / n;
    let ss = 0;
    for (const v of values) ss += (v - mean) ** 2;
    const sorted = [...values].sort((a, b) => a - b);
    const min = sorted[0]!;
    const max = sorted[n - 1]!;
    const ref = reference?.features[name];
    const [lo, hi, bins] =
      ref?.kind === 'numeric'
        ? [ref.histogram.edges[0]!, ref.histogram.edges.at(-1)!, ref.histogram.edges.length - 1]
        : (RANGES[name] ?? [min, max, 20]);
    const width = (hi - lo) / bins;
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / width)))]!++;
    const valueCounts = new Map<number, number>();
    for (const v of values) valueCounts.set(v, (valueCounts.get(v) ?? 0) + 1);
    const keys = [...valueCounts.keys()].sort((a, b) => a - b);
    features[name] = {
      kind: 'numeric',
      count: rows.length,
      nulls: rows.length - n,
      min,
      max,
      mean,
      std: Math.sqrt(ss / n),
      quantiles: Object.fromEntries(
        [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99].map((q) => [`p${String(Math.round(q * 100)).padStart(2, '0')}`, percentile(sorted, q)!]),
      ),
      histogram: { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts },
      ecdf: { values: keys, counts: keys.map((k) => valueCounts.get(k)!), exact: keys.length <= ECDF_MAX_POINTS },
    };
  }
  for (const name of ['origin', 'destination'] as const) {
    const counts = new Map<string, number>();
    let nulls = 0;
    for (const r of rows) {
      const v = r[name];
      if (v === null) nulls++;
      else counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([value, count]) => ({ value, count }));
    features[name] = { kind: 'categorical', count: rows.length, nulls, distinct: counts.size, top, otherCount: 0 };
  }
  return { source, rows: rows.length, features };
}
