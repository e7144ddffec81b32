// Labelled recent traffic as a training source: the prediction log of a model joined with its
// feedback labels over a time window, written as one Parquet partition in the shape of the
// model's other partitions (its input columns, the time column, the label) so prepare-data reads
// it like any other. Only labels a task accepts from an attributed key count (the rule the drift
// monitor and the rollout analysis use); shadow rows are copies and are skipped; the newest
// `maxRows` rows are kept, so one busy week cannot make a partition of any size. Given one of the
// dataset's partitions, it copies its columns, order and types (NULL where traffic has no value).
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../db/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { sha256Hex } from '../storage/keys.ts';
import { feedbackLabelFilter } from '../tasks/feedback-labels.ts';
import type { TaskKind } from '../tasks/task.ts';
import type { Duck } from './duck.ts';
import { sqlIdent, sqlString } from './duck.ts';
import { LABEL_COLUMN } from './label-sql.ts';
import type { LabelSpec } from './source-spec.ts';

/** Rows one export keeps when the spec names no bound. */
export const TRAFFIC_MAX_ROWS_DEFAULT = 100_000;

export interface LabelledTrafficQuery {
  model: string;
  /** The dataset the partition belongs to (its folder in the store). */
  dataset: string;
  /** The spec's `data.label`. A column names the partition's label column; an expression cannot
   * be computed from traffic, so its label goes in `__label` (see trafficLabelColumn). */
  label: LabelSpec;
  /** @default 'binary' */
  task?: TaskKind;
  /** The model's input columns; @default every key the logged instances carry */
  columns?: string[];
  /** The spec's `data.time`: filled with the prediction's time when an instance lacks it. */
  time?: string;
  /** Window start (inclusive) and end (exclusive) on the prediction's time. */
  since: Date;
  until: Date;
  maxRows: number;
  /** The columns of one of the dataset's partitions, in order, with their DuckDB types: the
   * partition gets the same columns in the same order and types (prepare-data reads partitions
   * as one table, by position), NULL where traffic has no value (columns the model does not
   * read). Columns it lacks (an `__label`) come last, typed from their values. */
  schema?: Array<{ name: string; type: string }>;
}

export interface TrafficRow {
  features: Record<string, unknown>;
  label: number | string;
  at: Date;
}

export interface TrafficPartition {
  /** `traffic-<until>-<hash of the query>`: the same query names the same partition. */
  partition: string;
  /** The partition's file; empty when no labelled row fell in the window. */
  uris: string[];
  rows: number;
  /** The file's columns, in order: the schema's, else the inputs, the time and the label. */
  columns: string[];
}

/** The partition's label column: the spec's label column, or `__label` for an expression label
 * (prepare-data must then read `COALESCE(__label, <expression>)`). */
export function trafficLabelColumn(label: LabelSpec): string {
  return typeof label === 'string' ? label : LABEL_COLUMN;
}

/** The newest labelled predictions in the window, oldest first, at most `maxRows`. */
export async function readLabelledTraffic(
  db: Database,
  query: Pick<LabelledTrafficQuery, 'model' | 'task' | 'since' | 'until' | 'maxRows'>,
): Promise<TrafficRow[]> {
  const task = query.task ?? 'binary';
  const { rows } = await db.query<{
    features: Record<string, unknown>;
    label: number | null;
    label_class: string | null;
    created_at: Date | string;
  }>(
    `SELECT l.features, f.label, f.label_class, l.created_at
     FROM prediction_log l JOIN prediction_feedback f ON f.request_id = l.request_id AND f.instance = l.instance
     WHERE l.model = $1 AND NOT l.shadow AND l.created_at >= $2 AND l.created_at < $3
       AND f.key_id IS NOT NULL AND ${feedbackLabelFilter(task)}
     ORDER BY l.created_at DESC, l.request_id, l.instance
     LIMIT $4`,
    [query.model, query.since.toISOString(), query.until.toISOString(), query.maxRows],
  );
  return rows.reverse().map((r) => ({
    features: r.features,
    label: task === 'multiclass' ? r.label_class! : Number(r.label),
    at: new Date(r.created_at),
  }));
}

/** The partition name and its store key: deterministic in the query, so a retried export
 * overwrites its own file and a different window never does. */
export function trafficPartitionKey(query: LabelledTrafficQuery): { partition: string; key: string } {
  const hash = sha256Hex(
    JSON.stringify([
      query.model,
      query.label,
      query.task ?? 'binary',
      query.columns ?? null,
      query.time ?? null,
      query.since,
      query.maxRows,
    ]),
  ).slice(0, 12);
  const until = query.until
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const partition = `traffic-${until}-${hash}`;
  return { partition, key: `traffic/${query.dataset}/${query.model}/${partition}/part-0000.parquet` };
}

/** Type names as DESCRIBE gives them (`DOUBLE`, `DECIMAL(9,2)`, `VARCHAR[]`): the only text
 * spliced into the cast; anything else is inferred instead. */
const DUCK_TYPE = /^[A-Z][A-Z0-9_ ]*(\([0-9, ]*\))?(\[\])?$/;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A column's type from its values when no partition says: numbers DOUBLE, booleans BOOLEAN,
 * ISO date-times TIMESTAMP, anything else VARCHAR. */
function inferType(values: unknown[]): string {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return 'VARCHAR';
  if (present.every((v) => typeof v === 'number')) return 'DOUBLE';
  if (present.every((v) => typeof v === 'boolean')) return 'BOOLEAN';
  if (present.every((v) => typeof v === 'string' && ISO_TIME.test(v))) return 'TIMESTAMP';
  return 'VARCHAR';
}

function safeType(type: string | undefined): string | undefined {
  return type !== undefined && DUCK_TYPE.test(type) ? type : undefined;
}

function asText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Writes the labelled traffic of the window as one Parquet partition in the store. */
export async function exportTrafficPartition(
  duck: Duck,
  deps: { db: Database; store: ArtifactStore },
  query: LabelledTrafficQuery,
): Promise<TrafficPartition> {
  const rows = await readLabelledTraffic(deps.db, query);
  const labelColumn = trafficLabelColumn(query.label);
  const inputs = (query.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r.features)))].sort()).filter((c) => c !== labelColumn);
  const columns = query.time && !inputs.includes(query.time) && query.time !== labelColumn ? [...inputs, query.time] : inputs;
  const { partition, key } = trafficPartitionKey(query);
  const schema = query.schema ?? [];
  const named = new Set(schema.map((c) => c.name));
  const all = [...schema.map((c) => c.name), ...[...columns, labelColumn].filter((c) => !named.has(c))];
  if (rows.length === 0) return { partition, uris: [], rows: 0, columns: all };

  const valueOf = (row: TrafficRow, column: string): unknown =>
    column in row.features ? row.features[column] : column === query.time ? row.at.toISOString() : null;
  const schemaTypes = new Map(schema.map((c) => [c.name, c.type]));
  const types = Object.fromEntries(
    all.map((c) => [
      c,
      safeType(schemaTypes.get(c)) ??
        (c === labelColumn
          ? query.task === 'multiclass'
            ? 'VARCHAR'
            : query.task === 'regression'
              ? 'DOUBLE'
              : 'INTEGER'
          : inferType(rows.map((r) => valueOf(r, c)))),
    ]),
  );
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-traffic-'));
  try {
    // Every value goes in as text and is cast once, to the partition type: one path for any column.
    const json = join(tmp, 'rows.ndjson');
    const lines = rows.map((r) =>
      JSON.stringify(Object.fromEntries(all.map((c, i) => [`c${i}`, asText(c === labelColumn ? r.label : valueOf(r, c))]))),
    );
    await writeFile(json, lines.join('\n') + '\n');
    const file = join(tmp, 'part.parquet');
    const raw = `read_json(${sqlString(json)}, format = 'newline_delimited', columns = {${all.map((_, i) => `c${i}: 'VARCHAR'`).join(', ')}})`;
    const select = all.map((c, i) => `TRY_CAST(c${i} AS ${types[c]}) AS ${sqlIdent(c)}`).join(', ');
    await duck.run(`COPY (SELECT ${select} FROM ${raw}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`);
    const info = await deps.store.putStream(key, createReadStream(file), { contentType: 'application/vnd.apache.parquet' });
    return { partition, uris: [info.uri], rows: rows.length, columns: all };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
