// The recent window of the prediction log: the champion's non-shadow predictions of the last
// `window`, profiled in DuckDB on the reference profile's bins, plus the SLO metrics (p99
// latency, error rate, online AUC from feedback labels).
import type { DuckDBAppender } from '@duckdb/node-api';
import type { Database } from '../db/index.ts';
import { featuresToCompare } from '../data/compare-features.ts';
import { sqlIdent, withDuck, type Duck } from '../data/duck.ts';
import { FLIGHTS_DATASET, FLIGHTS_PROFILE_FEATURES } from '../data/flights.ts';
import { defaultFeatures, profileTable, type FeatureDef } from '../data/profile.ts';
import type { DatasetProfile } from '../data/profile-types.ts';
import { rocAuc } from '../evaluation/auc.ts';
import type { SloMetrics } from '../contracts/drift-monitor.ts';
import { percentile } from '../percentile.ts';

/** Newest rows a check reads at most; a busier window is judged on its newest rows. */
export const WINDOW_MAX_ROWS = 200_000;

/** How a dataset's reference profile computed its features, as `prepareData` profiles it: the
 * flights profile's derived features (hour and day of week from `date`), otherwise the raw
 * columns (`defaultFeatures` on the window). */
export function profileDefinitions(dataset: string): readonly FeatureDef[] | undefined {
  return dataset === FLIGHTS_DATASET ? FLIGHTS_PROFILE_FEATURES : undefined;
}

export interface WindowRow {
  features: Record<string, unknown>;
  output: number;
  latencyMs: number;
  label: number | null;
}

export interface WindowQuery {
  model: string;
  version: number;
  windowMs: number;
  /** @default WINDOW_MAX_ROWS */
  maxRows?: number;
}

/** The window's rows, newest first; the window ends at the database's now(). */
export async function readWindow(db: Database, query: WindowQuery): Promise<WindowRow[]> {
  const { rows } = await db.query<{ features: Record<string, unknown>; output: number; latency_ms: number; label: number | null }>(
    `SELECT l.features, l.output, l.latency_ms, f.label
     FROM prediction_log l LEFT JOIN prediction_feedback f ON f.request_id = l.request_id AND f.instance = l.instance
       AND f.key_id IS NOT NULL AND f.label IN (0, 1)
     WHERE l.model = $1 AND l.model_version = $2 AND NOT l.shadow
       AND l.created_at >= now() - ($3::double precision * interval '1 millisecond')
     ORDER BY l.created_at DESC LIMIT $4`,
    [query.model, query.version, query.windowMs, query.maxRows ?? WINDOW_MAX_ROWS],
  );
  return rows.map((r) => ({
    features: r.features,
    output: Number(r.output),
    latencyMs: Number(r.latency_ms),
    label: r.label === null ? null : Number(r.label),
  }));
}

export function sloMetrics(rows: readonly WindowRow[], minLabels: number): SloMetrics {
  const latencies = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
  const errors = rows.filter((r) => !Number.isFinite(r.output)).length;
  const labelled = rows.filter((r) => r.label !== null && Number.isFinite(r.output));
  const labels = labelled.map((r) => (r.label! > 0.5 ? 1 : 0));
  const positives = labels.reduce<number>((s, l) => s + l, 0);
  const judgeable = labelled.length >= minLabels && positives > 0 && positives < labelled.length;
  return {
    samples: rows.length,
    p99LatencyMs: percentile(latencies, 0.99) ?? null,
    errorRate: rows.length === 0 ? null : errors / rows.length,
    labels: labelled.length,
    auc: judgeable
      ? rocAuc(
          labelled.map((r) => r.output),
          labels,
        )
      : null,
    positiveRate: labelled.length >= minLabels && labelled.length > 0 ? positives / labelled.length : null,
  };
}

function appendText(a: DuckDBAppender, value: unknown): void {
  if (typeof value === 'string') a.appendVarchar(value);
  else if (typeof value === 'number' || typeof value === 'boolean') a.appendVarchar(String(value));
  else a.appendNull();
}

function appendNumber(a: DuckDBAppender, value: unknown): void {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (Number.isFinite(n)) a.appendDouble(n);
  else a.appendNull();
}

interface LoggedColumn {
  name: string;
  type: 'DOUBLE' | 'VARCHAR';
}

/** The request fields the window's rows carry (first seen first), typed by their values: DOUBLE
 * when numbers are at least half of a field's scalar values, else VARCHAR. A field the reference
 * profiles as categorical stays text, so a numeric code reads `3`, not `3.0`. Objects and arrays
 * are not profiled. */
export function loggedColumns(rows: readonly WindowRow[], categorical: ReadonlySet<string> = new Set()): LoggedColumn[] {
  const tally = new Map<string, { numbers: number; scalars: number }>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row.features ?? {})) {
      const t = tally.get(name) ?? { numbers: 0, scalars: 0 };
      if (typeof value === 'number') t.numbers++;
      if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') t.scalars++;
      tally.set(name, t);
    }
  }
  return [...tally]
    .filter(([, t]) => t.scalars > 0)
    .map(([name, t]) => ({ name, type: !categorical.has(name) && t.numbers * 2 >= t.scalars ? 'DOUBLE' : 'VARCHAR' }));
}

/** Loads the rows into `window_rows`: one column per logged field, text that reads as
 * timestamps (most of a column) cast to TIMESTAMP; a malformed value becomes a null. */
async function loadWindow(duck: Duck, rows: readonly WindowRow[], columns: readonly LoggedColumn[]): Promise<void> {
  if (columns.length === 0) {
    await duck.run(`CREATE TEMP TABLE window_rows AS SELECT * FROM range(${rows.length}) t(row_number)`);
    return;
  }
  await duck.run(`CREATE TEMP TABLE raw_window (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
  await duck.appendRows('raw_window', rows.length, (a, i) => {
    const f = rows[i]!.features ?? {};
    for (const c of columns) (c.type === 'DOUBLE' ? appendNumber : appendText)(a, f[c.name]);
  });
  const text = columns.filter((c) => c.type === 'VARCHAR');
  const [counts = {}] =
    text.length === 0
      ? []
      : await duck.all<Record<string, number>>(
          `SELECT ${text
            .flatMap((c, i) => [
              `count(${sqlIdent(c.name)})::BIGINT AS n_${i}`,
              `count(try_cast(${sqlIdent(c.name)} AS TIMESTAMP))::BIGINT AS t_${i}`,
            ])
            .join(', ')} FROM raw_window`,
        );
  const timestamps = new Set(
    text
      .filter((_, i) => Number(counts[`t_${i}`] ?? 0) > 0 && Number(counts[`t_${i}`]) * 2 >= Number(counts[`n_${i}`] ?? 0))
      .map((c) => c.name),
  );
  const select = columns.map((c) =>
    timestamps.has(c.name) ? `try_cast(${sqlIdent(c.name)} AS TIMESTAMP) AS ${sqlIdent(c.name)}` : sqlIdent(c.name),
  );
  await duck.run(`CREATE TEMP TABLE window_rows AS SELECT ${select.join(', ')} FROM raw_window`);
}

/** The definitions DuckDB can evaluate on the window: a feature whose columns no request carries
 * (the label, a field the server never logged) is left out. */
async function computable(duck: Duck, defs: readonly FeatureDef[]): Promise<FeatureDef[]> {
  const out: FeatureDef[] = [];
  for (const def of defs) {
    try {
      await duck.all(`DESCRIBE SELECT ${def.sql ?? sqlIdent(def.name)} FROM window_rows`);
      out.push(def);
    } catch {
      // Not in the window: nothing to compare it with.
    }
  }
  return out;
}

export interface WindowProfileOptions {
  /** How the reference computed its features (`profileDefinitions(dataset)`); unset: the raw
   * columns of the window, as `defaultFeatures` reads them. */
  definitions?: readonly FeatureDef[];
  /** Compare only these features (`monitor.drift.features`). */
  only?: readonly string[];
  /** Profile the window only when it has at least this many rows; fewer: `current` is null and
   * only the features are named. @default 0 */
  minRows?: number;
}

/**
 * Every feature of the reference that the window's requests carry — numeric and categorical,
 * narrowed to `only` — and, with enough rows, the window's profile of them on the reference's
 * histogram edges. A malformed field becomes a null (counted in the profile), never a failed
 * check.
 */
export async function profileWindow(
  rows: readonly WindowRow[],
  reference: DatasetProfile,
  source: string,
  options: WindowProfileOptions = {},
): Promise<{ features: FeatureDef[]; current: DatasetProfile | null }> {
  return withDuck(async (duck) => {
    const categorical = new Set(Object.entries(reference.features).flatMap(([name, f]) => (f.kind === 'categorical' ? [name] : [])));
    await loadWindow(duck, rows, loggedColumns(rows, categorical));
    const definitions = options.definitions ?? (await defaultFeatures(duck, 'window_rows'));
    const features = await computable(duck, featuresToCompare(reference, { definitions, only: options.only }));
    if (rows.length < (options.minRows ?? 0)) return { features, current: null };
    return { features, current: await profileTable(duck, { from: 'window_rows', source, features, reference }) };
  });
}
