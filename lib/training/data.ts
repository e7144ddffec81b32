// Loads a split (Parquet in the artifact store, written by prepare with every source column plus
// `__label`) into the trainer's columnar Dataset, encoding features with the model's fitted
// features (ModelIO) — the same encoder serving and batch scoring use.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlIdent, type Duck } from '../data/duck.ts';
import { materializeSource, readSql, type SourceContext } from '../data/sources.ts';
import { batchFromDuckColumns, featureColumnsSelect } from '../features/tabular/columns.ts';
import type { FeatureBatch } from '../features/tabular/encode.ts';
import type { ModelIO } from '../features/tabular/model-io.ts';
import type { FeatureSpec } from '../features/tabular/spec.ts';
import { encodeLabels, type LabelValue } from '../tasks/task.ts';
import type { Dataset } from './tfjs/trainer.ts';

/** The label column every split carries (the prepare → train/evaluate data contract): binary
 * INTEGER 0/1, multiclass VARCHAR class name, regression DOUBLE; null-label rows are dropped. */
export const LABEL_COLUMN = '__label';

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

/** Encodes split rows with a model's fitted features; targets follow its task (encodeLabels). */
export function encodeSplit(io: ModelIO, rows: SplitRows): Dataset {
  return { x: io.encoder.encode(rows.batch), y: encodeLabels(io.task, rows.labels), rows: rows.rows, dim: io.encoder.dimension };
}

/** loadSplitRows + encodeSplit with the model's own spec. */
export async function loadSplit(
  duck: Duck,
  ctx: SourceContext,
  splitUri: string,
  io: ModelIO,
  options: LoadSplitOptions = {},
): Promise<Dataset> {
  return encodeSplit(io, await loadSplitRows(duck, ctx, splitUri, io.fitted.spec, options));
}
