// Computes a dataset profile in DuckDB: one scan for every numeric feature's basics, then per
// numeric feature one value-count GROUP BY (exact statistics follow from it when there are few
// distinct values; otherwise moments, approximate quantiles and a histogram come from the engine);
// per categorical feature one GROUP BY.
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

export interface InferFeaturesOptions {
  /** The time column: profiled as its hour (TIMESTAMP only), day of week and month, named
   * `<time>.hour`, `<time>.day_of_week`, `<time>.month`, instead of as epoch seconds (an instant
   * always drifts; the hour of day or the weekday is what a model sees). */
  time?: string;
  /** Columns left out (an id, the raw text of a derived label). */
  exclude?: readonly string[];
}

/** Profile features of a time column: its calendar parts over fixed ranges, so a window of
 * traffic and the training data share histogram bins. */
export function timeProfileFeatures(column: string, duckType: string): FeatureDef[] {
  const t = duckType.toUpperCase();
  // A zoned instant is profiled in UTC; a naive timestamp or a date as written.
  const c = t.includes('TIME ZONE') || t === 'TIMESTAMPTZ' ? `timezone('UTC', ${sqlIdent(column)})` : sqlIdent(column);
  return [
    ...(t === 'DATE'
      ? []
      : [{ name: `${column}.hour`, kind: 'numeric' as const, sql: `hour(${c})`, bins: 24, range: [0, 24] as [number, number] }]),
    { name: `${column}.day_of_week`, kind: 'numeric', sql: `isodow(${c}) - 1`, bins: 7, range: [0, 7] },
    { name: `${column}.month`, kind: 'numeric', sql: `month(${c})`, bins: 12, range: [1, 13] },
  ];
}

/** Profile features of any table, from its columns and their DuckDB types: numbers numeric,
 * text and booleans categorical, dates and timestamps as epoch seconds — or, for the time
 * column, its calendar parts. Nested, binary and interval columns are left out. */
export async function inferProfileFeatures(duck: Duck, from: string, options: InferFeaturesOptions = {}): Promise<FeatureDef[]> {
  const cols = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`);
  if (options.time !== undefined && !cols.some((c) => c.column_name === options.time))
    throw new Error(`time column ${options.time} is not in the data (columns: ${cols.map((c) => c.column_name).join(', ')})`);
  const defs: FeatureDef[] = [];
  for (const { column_name: name, column_type: type } of cols) {
    if (options.exclude?.includes(name)) continue;
    const t = type.toUpperCase();
    const temporal = t.startsWith('TIMESTAMP') || t === 'DATE';
    if (name === options.time) {
      if (!temporal) throw new Error(`time column ${name} has type ${type}; it needs DATE or TIMESTAMP`);
      defs.push(...timeProfileFeatures(name, t));
    } else if (temporal) defs.push({ name, kind: 'numeric', sql: `epoch(${sqlIdent(name)})` });
    else if (/INT|FLOAT|DOUBLE|REAL|DECIMAL/.test(t) && t !== 'INTERVAL') defs.push({ name, kind: 'numeric' });
    else if (t.startsWith('VARCHAR') || t === 'BOOLEAN') defs.push({ name, kind: 'categorical' });
  }
  return defs;
}

/** Profiles raw columns by their DuckDB type: numbers numeric, text categorical, timestamps as epoch seconds. */
export async function defaultFeatures(duck: Duck, from: string): Promise<FeatureDef[]> {
  return inferProfileFeatures(duck, from);
}

function edgesFor(min: number, max: number, bins: number): number[] {
  const width = max > min ? (max - min) / bins : 1;
  return Array.from({ length: bins + 1 }, (_, i) => min + i * width);
}

interface NumericBasics {
  count: number;
  nonNull: number;
  lo: number | null;
  hi: number | null;
  distinct: number;
}

/** One scan for every numeric feature's count, nulls, range and approximate distinct count. */
async function numericBasics(duck: Duck, from: string, defs: readonly FeatureDef[], signal?: AbortSignal): Promise<NumericBasics[]> {
  if (defs.length === 0) return [];
  const cols = defs.flatMap((def, i) => {
    const x = def.sql ?? sqlIdent(def.name);
    return [
      `count(${x})::BIGINT AS nn_${i}`,
      `min(${x})::DOUBLE AS lo_${i}`,
      `max(${x})::DOUBLE AS hi_${i}`,
      `approx_count_distinct(${x})::BIGINT AS nd_${i}`,
    ];
  });
  const [row = {}] = await duck.all<Record<string, number | null>>(`SELECT count(*)::BIGINT AS n, ${cols.join(', ')} FROM ${from}`, signal);
  return defs.map((_, i) => ({
    count: Number(row.n ?? 0),
    nonNull: Number(row[`nn_${i}`] ?? 0),
    lo: row[`lo_${i}`] ?? null,
    hi: row[`hi_${i}`] ?? null,
    distinct: Number(row[`nd_${i}`] ?? 0),
  }));
}

/** Discrete quantile (the smallest value with at least q of the mass at or below it). */
function ecdfQuantile(ecdf: Ecdf, total: number, q: number): number {
  const target = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < ecdf.values.length; i++) {
    seen += ecdf.counts[i]!;
    if (seen >= target) return ecdf.values[i]!;
  }
  return ecdf.values.at(-1)!;
}

function binCounts(ecdf: Ecdf, edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  const first = edges[0]!;
  const width = (edges[bins]! - first) / bins;
  const counts = new Array<number>(bins).fill(0);
  ecdf.values.forEach((v, i) => {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - first) / width)));
    counts[b] = counts[b]! + ecdf.counts[i]!;
  });
  return counts;
}

async function numericProfile(
  duck: Duck,
  from: string,
  def: FeatureDef,
  basics: NumericBasics,
  refEdges: number[] | undefined,
  signal?: AbortSignal,
): Promise<NumericProfile> {
  const x = def.sql ?? sqlIdent(def.name);
  const { count, nonNull, lo, hi } = basics;
  const empty = { kind: 'numeric' as const, count, nulls: count - nonNull, min: lo, max: hi, mean: null, std: null, quantiles: {} };
  if (lo === null || hi === null || nonNull === 0) {
    return {
      ...empty,
      histogram: { edges: refEdges ?? [], counts: refEdges ? new Array(refEdges.length - 1).fill(0) : [] },
      ecdf: { values: [], counts: [], exact: true },
    };
  }
  const edges = refEdges ?? edgesFor(def.range?.[0] ?? lo, def.range?.[1] ?? hi, def.bins ?? HISTOGRAM_BINS);

  // Few distinct values (hour, distance, delay): one GROUP BY gives the exact distribution, and
  // every other statistic follows from it without another scan.
  const exact = basics.distinct <= ECDF_MAX_POINTS * 0.9; // approx_count_distinct errs by a few %
  const step = (hi - lo) / ECDF_MAX_POINTS;
  const v = exact || step === 0 ? `${x}::DOUBLE` : `(${lo} + floor((${x}::DOUBLE - ${lo}) / ${step}) * ${step})`;
  const rows = await duck.columns(
    `SELECT ${v} AS v, count(*)::BIGINT AS c FROM ${from} WHERE ${x} IS NOT NULL GROUP BY 1 ORDER BY 1`,
    signal,
  );
  const ecdf: Ecdf = { values: rows.v as number[], counts: rows.c as number[], exact: exact || step === 0 };
  if (ecdf.exact) {
    let sum = 0;
    ecdf.values.forEach((val, i) => (sum += val * ecdf.counts[i]!));
    const mean = sum / nonNull;
    let ss = 0;
    ecdf.values.forEach((val, i) => (ss += (val - mean) ** 2 * ecdf.counts[i]!));
    const quantiles = Object.fromEntries(QUANTILE_KEYS.map((k, i) => [k, ecdfQuantile(ecdf, nonNull, QUANTILES[i]!)]));
    return { ...empty, mean, std: Math.sqrt(ss / nonNull), quantiles, histogram: { edges, counts: binCounts(ecdf, edges) }, ecdf };
  }

  // Many distinct values: moments and quantiles from the engine, histogram on the raw values.
  const [m] = await duck.all<{ mean: number; std: number; q: number[] }>(
    `SELECT avg(${x})::DOUBLE AS mean, stddev_pop(${x})::DOUBLE AS std, approx_quantile(${x}::DOUBLE, [${QUANTILES.join(', ')}]) AS q FROM ${from}`,
    signal,
  );
  const quantiles = Object.fromEntries(QUANTILE_KEYS.map((k, i) => [k, Number(m?.q[i])]));
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
  return { ...empty, mean: m?.mean ?? null, std: m?.std ?? null, quantiles, histogram: { edges, counts }, ecdf };
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
  const numeric = options.features.filter((d) => d.kind === 'numeric');
  const basics = await numericBasics(duck, options.from, numeric, options.signal);
  let rows = basics[0]?.count;
  for (const def of options.features) {
    const ref = options.reference?.features[def.name];
    const refEdges = ref?.kind === 'numeric' && ref.histogram.edges.length > 1 ? ref.histogram.edges : undefined;
    features[def.name] =
      def.kind === 'numeric'
        ? await numericProfile(duck, options.from, def, basics[numeric.indexOf(def)]!, refEdges, options.signal)
        : await categoricalProfile(duck, options.from, def, options.signal);
  }
  if (rows === undefined) {
    const [{ n } = { n: 0 }] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${options.from}`, options.signal);
    rows = n;
  }
  return { source: options.source, rows, features };
}
