// The recent window of the prediction log: the champion's non-shadow predictions of the last
// `window`, profiled in DuckDB on the reference profile's bins, plus the SLO metrics (p99
// latency, error rate, online AUC from feedback labels).
import type { DuckDBAppender } from '@duckdb/node-api';
import type { Database } from '../db/index.ts';
import { withDuck } from '../data/duck.ts';
import { FLIGHTS_PROFILE_FEATURES } from '../data/flights.ts';
import { profileTable, type FeatureDef } from '../data/profile.ts';
import type { DatasetProfile } from '../data/profile-types.ts';
import { rocAuc } from '../evaluation/auc.ts';
import type { SloMetrics } from '../contracts/drift-monitor.ts';
import { percentile } from '../percentile.ts';

/** Newest rows a check reads at most; a busier window is judged on its newest rows. */
export const WINDOW_MAX_ROWS = 200_000;

/** Request fields of a flights prediction, as logged (`features` jsonb). */
const REQUEST_COLUMNS = [
  ['date', 'VARCHAR'],
  ['distance', 'DOUBLE'],
  ['origin', 'VARCHAR'],
  ['destination', 'VARCHAR'],
] as const;

/** Profile features a request carries: all but the label (`delay` is never in a request). */
export const REQUEST_FEATURES: readonly FeatureDef[] = FLIGHTS_PROFILE_FEATURES.filter((f) => f.name !== 'delay');

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
  else a.appendNull();
}

function appendNumber(a: DuckDBAppender, value: unknown): void {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (Number.isFinite(n)) a.appendDouble(n);
  else a.appendNull();
}

/** Profiles the window's request features with the reference's histogram edges. A malformed
 * field becomes a null (counted in the profile), never a failed check. */
export async function profileWindow(
  rows: readonly WindowRow[],
  features: readonly FeatureDef[],
  reference: DatasetProfile,
  source: string,
): Promise<DatasetProfile> {
  return withDuck(async (duck) => {
    await duck.run(`CREATE TEMP TABLE raw_window (${REQUEST_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')})`);
    await duck.appendRows('raw_window', rows.length, (a, i) => {
      const f = rows[i]!.features;
      for (const [name, type] of REQUEST_COLUMNS) (type === 'DOUBLE' ? appendNumber : appendText)(a, f[name]);
    });
    await duck.run(
      `CREATE TEMP TABLE window_rows AS SELECT try_cast(date AS TIMESTAMP) AS date, distance, origin, destination FROM raw_window`,
    );
    return profileTable(duck, { from: 'window_rows', source, features, reference });
  });
}
