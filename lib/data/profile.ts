// Computes a dataset profile in DuckDB: per numeric feature one aggregate (moments, approximate
// quantiles), one histogram and one value-count query; per categorical feature one GROUP BY.
// With a reference profile, histograms reuse the reference's bin edges so PSI compares like bins.
import type { Duck } from './duck.ts';
import { sqlIdent } from './duck.ts';
import {
  CATEGORY_MAX_VALUES,
  ECDF_MAX_POINTS,
  HISTOGRAM_BINS,
  type CategoricalProfile,
  type DatasetProfile,
  type Ecdf,
  type NumericProfile,
} from './profile-types.ts';

export interface FeatureDef {
  name: string;
  kind: 'numeric' | 'categorical';
  /** SQL expression over the source table; @default the quoted column `name` */
  sql?: string;
  /** Histogram bins for numerics. @default 20 */
  bins?: number;
  /** Fixed histogram range (e.g. 0..24 for hour of day) instead of the observed min..max. */
  range?: [number, number];
}

export interface ProfileOptions {
  /** SQL table expression to profile. */
  from: string;
  source: string;
  features: readonly FeatureDef[];
  /** Reuse this profile's histogram edges for features it has. */
  reference?: DatasetProfile;
  signal?: AbortSignal;
}

const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
const QUANTILE_KEYS = ['p01', 'p05', 'p25', 'p50', 'p75', 'p95', 'p99'] as const;

/** Profiles raw columns by their DuckDB type: numbers numeric, text categorical, timestamps as epoch seconds. */
export async function defaultFeatures(duck: Duck, from: string): Promise<FeatureDef[]> {
  const cols = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`);
  const defs: FeatureDef[] = [];
  for (const { column_name: name, column_type: type } of cols) {
    const t = type.toUpperCase();
    if (t.startsWith('TIMESTAMP') || t === 'DATE') defs.push({ name, kind: 'numeric', sql: `epoch(${sqlIdent(name)})` });
    else if (/INT|FLOAT|DOUBLE|REAL|DECIMAL/.test(t)) defs.push({ name, kind: 'numeric' });
    else if (t.startsWith('VARCHAR') || t === 'BOOLEAN') defs.push({ name, kind: 'categorical' });
  }
  return defs;
}

function edgesFor(min: number, max: number, bins: number): number[] {
  const width = max > min ? (max - min) / bins : 1;
  return Array.from({ length: bins + 1 }, (_, i) => min + i * width);
}

async function numericProfile(duck: Duck, from: string, def: FeatureDef, refEdges: number[] | undefined, signal?: AbortSignal): Promise<NumericProfile> {
  const x = def.sql ?? sqlIdent(def.name);
  const [m] = await duck.all<Record<string, unknown>>(
    `SELECT count(*)::BIGINT AS n, count(${x})::BIGINT AS nn, min(${x})::DOUBLE AS lo, max(${x})::DOUBLE AS hi,
            avg(${x})::DOUBLE AS mean, stddev_pop(${x})::DOUBLE AS std, approx_count_distinct(${x})::BIGINT AS nd,
            approx_quantile(${x}::DOUBLE, [${QUANTILES.join(', ')}]) AS q
     FROM ${from}`,
    signal,
  );
  const count = Number(m?.n ?? 0);
  const nonNull = Number(m?.nn ?? 0);
  const lo = m?.lo === null || m?.lo === undefined ? null : Number(m.lo);
  const hi = m?.hi === null || m?.hi === undefined ? null : Number(m.hi);
  const q = (m?.q as number[] | null) ?? [];
  const quantiles: Record<string, number> = {};
  QUANTILE_KEYS.forEach((k, i) => {
    if (q[i] !== undefined && q[i] !== null) quantiles[k] = Number(q[i]);
  });
  const base = {
    kind: 'numeric' as const,
    count,
    nulls: count - nonNull,
    min: lo,
    max: hi,
    mean: m?.mean === null ? null : Number(m?.mean),
    std: m?.std === null ? null : Number(m?.std),
    quantiles,
  };
  if (lo === null || hi === null || nonNull === 0) {
    return { ...base, histogram: { edges: refEdges ?? [], counts: refEdges ? new Array(refEdges.length - 1).fill(0) : [] }, ecdf: { values: [], counts: [], exact: true } };
  }

  const edges = refEdges ?? edgesFor(def.range?.[0] ?? lo, def.range?.[1] ?? hi, def.bins ?? HISTOGRAM_BINS);
  const bins = edges.length - 1;
  const first = edges[0]!;
  const width = (edges[bins]! - first) / bins;
  const hist = await duck.all<{ b: number; c: number }>(
    `SELECT least(greatest(floor((${x}::DOUBLE - ${first}) / ${width}), 0), ${bins - 1})::INTEGER AS b, count(*)::BIGINT AS c
     FROM ${from} WHERE ${x} IS NOT NULL GROUP BY 1`,
    signal,
  );
  const counts = new Array<number>(bins).fill(0);
  for (const { b, c } of hist) counts[b] = (counts[b] ?? 0) + c;

  // Value counts: exact for features with few distinct values, else snapped to a fine grid.
  const distinct = Number(m?.nd ?? 0);
  const exact = distinct <= ECDF_MAX_POINTS;
  const step = (hi - lo) / ECDF_MAX_POINTS;
  const v = exact || step === 0 ? `${x}::DOUBLE` : `(${lo} + floor((${x}::DOUBLE - ${lo}) / ${step}) * ${step})`;
  const ecdfRows = await duck.columns(`SELECT ${v} AS v, count(*)::BIGINT AS c FROM ${from} WHERE ${x} IS NOT NULL GROUP BY 1 ORDER BY 1`, signal);
  const ecdf: Ecdf = { values: ecdfRows.v as number[], counts: ecdfRows.c as number[], exact };
  return { ...base, histogram: { edges, counts }, ecdf };
}

async function categoricalProfile(duck: Duck, from: string, def: FeatureDef, signal?: AbortSignal): Promise<CategoricalProfile> {
  const x = def.sql ?? sqlIdent(def.name);
  const rows = await duck.columns(
    `SELECT ${x}::VARCHAR AS v, count(*)::BIGINT AS c FROM ${from} GROUP BY 1 ORDER BY c DESC, v ASC NULLS LAST`,
    signal,
  );
  const values = rows.v as Array<string | null>;
  const counts = rows.c as number[];
  let nulls = 0;
  let count = 0;
  const top: Array<{ value: string; count: number }> = [];
  let otherCount = 0;
  values.forEach((value, i) => {
    const c = counts[i] ?? 0;
    count += c;
    if (value === null) nulls += c;
    else if (top.length < CATEGORY_MAX_VALUES) top.push({ value, count: c });
    else otherCount += c;
  });
  return { kind: 'categorical', count, nulls, distinct: values.filter((v) => v !== null).length, top, otherCount };
}

export async function profileTable(duck: Duck, options: ProfileOptions): Promise<DatasetProfile> {
  const features: DatasetProfile['features'] = {};
  const [{ n } = { n: 0 }] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${options.from}`, options.signal);
  for (const def of options.features) {
    const ref = options.reference?.features[def.name];
    features[def.name] =
      def.kind === 'numeric'
        ? await numericProfile(duck, options.from, def, ref?.kind === 'numeric' && ref.histogram.edges.length > 1 ? ref.histogram.edges : undefined, options.signal)
        : await categoricalProfile(duck, options.from, def, options.signal);
  }
  return { source: options.source, rows: n, features };
}
