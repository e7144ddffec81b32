// The recent window of the prediction log: the champion's non-shadow predictions of the last
// `window` with their feedback labels, loaded into DuckDB typed by the model's input columns and
// profiled with the same definitions as the reference profile, on the reference's bins.
import type { DuckDBAppender } from '@duckdb/node-api';
import type { Database } from '../db/index.ts';
import { featuresToCompare } from '../data/compare-features.ts';
import { sqlIdent, withDuck, type Duck } from '../data/duck.ts';
import { defaultFeatures, profileTable, type FeatureDef } from '../data/profile.ts';
import type { DatasetProfile } from '../data/profile-types.ts';
import type { InputKind } from '../features/tabular/spec.ts';
import { feedbackLabelFilter } from '../tasks/feedback-labels.ts';
import type { TaskKind } from '../tasks/task.ts';
import { parseNaiveTimestampMs } from '../time/naive-timestamp.ts';

export { sloMetrics } from './labels.ts';

/** Newest rows a check reads at most; a busier window is judged on its newest rows. */
export const WINDOW_MAX_ROWS = 200_000;

export interface WindowRow {
  /** The request instance as sent (prediction_log.features). */
  features: Record<string, unknown>;
  /** Binary P(1); multiclass the probability of the predicted class; regression the value. */
  output: number;
  /** Multiclass: the predicted class (prediction_log.output_class). */
  outputClass?: string | null;
  latencyMs: number;
  /** Feedback label: binary 0/1 or the regression value; null when unlabelled (or multiclass). */
  label: number | null;
  /** Multiclass feedback: the true class (prediction_feedback.label_class). */
  labelClass?: string | null;
}

export interface WindowQuery {
  model: string;
  version: number;
  windowMs: number;
  /** Which feedback counts as a label: binary 0/1, a multiclass class name, a regression number.
   * @default 'binary' */
  task?: TaskKind;
  /** @default WINDOW_MAX_ROWS */
  maxRows?: number;
}

/** The window's rows, newest first; the window ends at the database's now(). */
export async function readWindow(db: Database, query: WindowQuery): Promise<WindowRow[]> {
  const { rows } = await db.query<{
    features: Record<string, unknown>;
    output: number;
    output_class: string | null;
    latency_ms: number;
    label: number | null;
    label_class: string | null;
  }>(
    `SELECT l.features, l.output, l.output_class, l.latency_ms, f.label, f.label_class
     FROM prediction_log l LEFT JOIN prediction_feedback f ON f.request_id = l.request_id AND f.instance = l.instance
       AND f.key_id IS NOT NULL AND ${feedbackLabelFilter(query.task ?? 'binary')}
     WHERE l.model = $1 AND l.model_version = $2 AND NOT l.shadow
       AND l.created_at >= now() - ($3::double precision * interval '1 millisecond')
     ORDER BY l.created_at DESC LIMIT $4`,
    [query.model, query.version, query.windowMs, query.maxRows ?? WINDOW_MAX_ROWS],
  );
  return rows.map((r) => ({
    features: r.features,
    output: Number(r.output),
    outputClass: r.output_class,
    latencyMs: Number(r.latency_ms),
    label: r.label === null ? null : Number(r.label),
    labelClass: r.label_class,
  }));
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

/** A logged value as a number: booleans as 0/1 (how a boolean feature is profiled), numeric text
 * read as a number; anything else null. */
function numberOf(value: unknown): number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** Naive timestamps as the server accepts them, as epoch milliseconds; anything else null. */
function timestampMsOf(value: unknown): number | null {
  return typeof value === 'string' ? parseNaiveTimestampMs(value) : null;
}

/**
 * Loads the rows into `window_rows` with one column per model input, typed as the training split
 * holds it, so the reference's SQL definitions (`hour(date)`) evaluate alike: numbers and booleans
 * as DOUBLE, categories as VARCHAR (an integer code as `7`), naive ISO timestamps as TIMESTAMP.
 * A malformed value becomes a null; vectors are not profiled.
 */
async function loadTypedWindow(duck: Duck, rows: readonly WindowRow[], inputs: readonly WindowInput[]): Promise<void> {
  const columns = inputs.filter((c) => !c.kind.startsWith('vector'));
  if (columns.length === 0) {
    await duck.run(`CREATE TEMP TABLE window_rows AS SELECT * FROM range(${rows.length}) t(row_number)`);
    return;
  }
  const raw = columns.map((c) => `${sqlIdent(c.column)} ${c.kind === 'string' ? 'VARCHAR' : 'DOUBLE'}`);
  await duck.run(`CREATE TEMP TABLE raw_window (${raw.join(', ')})`);
  await duck.appendRows('raw_window', rows.length, (a, i) => {
    const f = rows[i]!.features ?? {};
    for (const c of columns) {
      const value = f[c.column];
      if (c.kind === 'string') appendText(a, value);
      else {
        const n = c.kind === 'timestamp' ? timestampMsOf(value) : numberOf(value);
        if (n === null) a.appendNull();
        else a.appendDouble(n);
      }
    }
  });
  const select = columns.map((c) =>
    c.kind === 'timestamp' ? `epoch_ms(${sqlIdent(c.column)}::BIGINT) AS ${sqlIdent(c.column)}` : sqlIdent(c.column),
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

/** One model input column and what it holds (`ModelIO.inputs`). */
export interface WindowInput {
  column: string;
  kind: InputKind;
}

export interface WindowProfileOptions {
  /** How the reference computed its features (`profileDefinitionsForFeatures` of the champion's
   * feature spec); unset: the raw columns of the window, as `defaultFeatures` reads them. */
  definitions?: readonly FeatureDef[];
  /** The champion's input columns: the window table is typed by them. Unset: each field's type
   * is guessed from its logged values (`loggedColumns`). */
  inputs?: readonly WindowInput[];
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
    if (options.inputs) await loadTypedWindow(duck, rows, options.inputs);
    else await loadWindow(duck, rows, loggedColumns(rows, categorical));
    const definitions = options.definitions ?? (await defaultFeatures(duck, 'window_rows'));
    const features = await computable(duck, featuresToCompare(reference, { definitions, only: options.only }));
    if (rows.length < (options.minRows ?? 0)) return { features, current: null };
    return { features, current: await profileTable(duck, { from: 'window_rows', source, features, reference }) };
  });
}
