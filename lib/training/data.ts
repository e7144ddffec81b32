// Loads a split (Parquet in the artifact store, written by prepare with every source column plus
// `__label`) into the trainer's columnar Dataset, encoding features with the model's fitted
// features (ModelIO) — the same encoder serving and batch scoring use.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlIdent, type Duck } from '../data/duck.ts';
import { LABEL_COLUMN } from '../data/label-sql.ts';
import { materializeSource, readSql, type SourceContext } from '../data/sources.ts';
import { batchFromDuckColumns, featureColumnsSelect } from '../features/tabular/columns.ts';
import type { FeatureBatch, FeatureColumn } from '../features/tabular/encode.ts';
import type { ModelIO } from '../features/tabular/model-io.ts';
import type { FeatureSpec } from '../features/tabular/spec.ts';
import { encodeLabels, type LabelValue, type Task } from '../tasks/task.ts';
import type { Dataset } from './tfjs/trainer.ts';

/** The label column every split carries (the prepare → train/evaluate data contract): binary
 * INTEGER 0/1, multiclass VARCHAR class name, regression DOUBLE; null-label rows are dropped. */
export { LABEL_COLUMN };

export interface LoadSplitOptions {
  /** Use only the first `limit` rows (tests, quick runs). */
  limit?: number;
  /** Source columns to read as text besides the spec's (e.g. for slices). */
  extraColumns?: readonly string[];
  signal?: AbortSignal;
}

/** A split before encoding: the spec's input columns, the raw labels and any extra columns, so
 * evaluation can encode the same rows with another model's fitted features (a champion's). */
export interface SplitRows {
  spec: FeatureSpec;
  batch: FeatureBatch;
  labels: LabelValue[];
  /** `extraColumns`, as text (null stays null). */
  extra: Record<string, (string | null)[]>;
  rows: number;
}

/** Reads the spec's input columns, `__label` and `extraColumns` of a split. */
export async function loadSplitRows(
  duck: Duck,
  ctx: SourceContext,
  splitUri: string,
  spec: FeatureSpec,
  options: LoadSplitOptions = {},
): Promise<SplitRows> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-split-'));
  try {
    const file = await materializeSource(ctx, splitUri, tmp, options.signal);
    const extras = (options.extraColumns ?? []).map((c, i) => `CAST(${sqlIdent(c)} AS VARCHAR) AS ${sqlIdent(`__extra_${i}`)}`);
    const cols = await duck.columns(
      `SELECT ${[featureColumnsSelect(spec), ...extras, `${sqlIdent(LABEL_COLUMN)} AS ${sqlIdent(LABEL_COLUMN)}`].join(', ')}
       FROM ${readSql([file])}${options.limit ? ` LIMIT ${options.limit}` : ''}`,
      options.signal,
    );
    const labels = (cols[LABEL_COLUMN] ?? []) as LabelValue[];
    const extra: Record<string, (string | null)[]> = {};
    (options.extraColumns ?? []).forEach((c, i) => (extra[c] = (cols[`__extra_${i}`] ?? []) as (string | null)[]));
    const batch = batchFromDuckColumns(spec, cols);
    return { spec, batch: { ...batch, rows: labels.length }, labels, extra, rows: labels.length };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The rows at `keep` (ascending indices) of a split, every column alike. */
export function selectRows(rows: SplitRows, keep: readonly number[]): SplitRows {
  const pick = <T>(values: ArrayLike<T>): T[] => keep.map((i) => values[i]!);
  const columns: Record<string, FeatureColumn> = {};
  for (const [name, col] of Object.entries(rows.batch.columns))
    columns[name] =
      col instanceof Float64Array ? Float64Array.from(keep, (i) => col[i]!) : (pick(col as ArrayLike<unknown>) as FeatureColumn);
  const extra: Record<string, (string | null)[]> = {};
  for (const [name, col] of Object.entries(rows.extra)) extra[name] = pick(col);
  return { spec: rows.spec, batch: { rows: keep.length, columns }, labels: pick(rows.labels), extra, rows: keep.length };
}

/**
 * A multiclass split without the rows whose class the model was not fitted with (classes are
 * fitted on the training split, so a rare class can appear only later): such a row has no
 * target. `dropped` counts them per class; other tasks pass through.
 */
export function keepKnownClasses(task: Task, rows: SplitRows): { rows: SplitRows; dropped: Record<string, number> } {
  if (task.kind !== 'multiclass') return { rows, dropped: {} };
  const known = new Set(task.classes);
  const keep: number[] = [];
  const dropped: Record<string, number> = {};
  rows.labels.forEach((v, i) => {
    const c = v === null || v === undefined ? null : String(v);
    if (c !== null && known.has(c)) keep.push(i);
    else dropped[String(c)] = (dropped[String(c)] ?? 0) + 1;
  });
  return { rows: keep.length === rows.rows ? rows : selectRows(rows, keep), dropped };
}

/** `snow: 3 rows, fog: 1 row` for notes and logs; '' when nothing was dropped. */
export function describeDropped(dropped: Record<string, number>): string {
  return Object.entries(dropped)
    .map(([c, n]) => `${c}: ${n} ${n === 1 ? 'row' : 'rows'}`)
    .join(', ');
}

/** Encodes split rows with a model's fitted features; targets follow its task (encodeLabels). */
export function encodeSplit(io: ModelIO, rows: SplitRows): Dataset {
  return { x: io.encoder.encode(rows.batch), y: encodeLabels(io.task, rows.labels), rows: rows.rows, dim: io.encoder.dimension };
}

/** loadSplitRows + keepKnownClasses + encodeSplit with the model's own spec; `onDropped` hears
 * of multiclass rows left out for a class the model was not fitted with. */
export async function loadSplit(
  duck: Duck,
  ctx: SourceContext,
  splitUri: string,
  io: ModelIO,
  options: LoadSplitOptions & { onDropped?: (dropped: Record<string, number>) => void } = {},
): Promise<Dataset> {
  const known = keepKnownClasses(io.task, await loadSplitRows(duck, ctx, splitUri, io.fitted.spec, options));
  if (Object.keys(known.dropped).length > 0) options.onDropped?.(known.dropped);
  return encodeSplit(io, known.rows);
}
