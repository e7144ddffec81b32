// The features step for any table and task: label each row per the task, split (by time, or by a
// hash of the row), write each split as Parquet (every source column plus `__label`), and fit the
// feature spec — and a multiclass task's classes — on the training split. Outputs are keyed by the
// dataset version AND a hash of what shaped them, so two models with different specs on one
// version never share or overwrite each other's files.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import { FeatureDataError, fitFeatures } from '../features/tabular/fit.ts';
import { FeatureSpecError, type FeatureSpec } from '../features/tabular/spec.ts';
import { canonicalJson, fittedFeaturesHash, type FittedFeatures } from '../features/tabular/state.ts';
import { BINARY_TASK, fitClasses, type Task, type TaskKind } from '../tasks/task.ts';
import { storableTextProblem } from '../text/storable.ts';
import type { Duck } from './duck.ts';
import { sqlIdent, sqlString } from './duck.ts';
import { DataValidationError } from './errors.ts';
import { datasetPrefix, type DatasetManifest } from './ingest.ts';
import { LABEL_COLUMN, labelSql, labelText } from './label-sql.ts';
import type { LabelSpec } from './source-spec.ts';
import { hashSplitSql, resolveFractions, timeSplitCutoffs, timeSplitSql, type SplitCutoffs, type SplitFractions } from './splits.ts';
import { buildReport, renderReportText, type ValidationProblem } from './validation/report.ts';

const SPLIT_COLUMN = '__split';
/** Most classes a multiclass label may have: the output layer has one unit per class. */
export const MAX_CLASSES = 1000;
const MAX_CLASS_NAME_LENGTH = 256;
const LABELLED = 'labelled_rows';
const SPLITS = ['train', 'validation', 'test'] as const;

export interface ModelColumns {
  features: FeatureSpec;
  /** @default 'binary' */
  task?: TaskKind;
  label: LabelSpec;
  time?: string;
}

export interface SplitInfo {
  uri: string;
  rows: number;
  /** Rows with label 1 (binary); 0 for other tasks. */
  positives: number;
}

export interface FeaturesOutcome {
  featureSpecUri: string;
  featureSpecHash: string;
  task: Task;
  /** Hash of (feature spec, task, label, time, fractions): the folder of these outputs. */
  key: string;
  /** Set for a time split. */
  cutoffs?: SplitCutoffs;
  splits: { train: SplitInfo; validation: SplitInfo; test: SplitInfo };
  /** Labelled rows left out: no time value (time split); validation or test rows whose class the
   * training split never had (multiclass: the model has no output for it). */
  dropped: { noTime: number; unseenClass: number };
}

/** Refuses an input from before the feature language (no feature spec or no label) with what to do. */
export function requireModelColumns(input: {
  features?: FeatureSpec | undefined;
  label?: LabelSpec | undefined;
  task?: TaskKind | undefined;
  time?: string | undefined;
}): ModelColumns {
  // Specs parsed before the feature language carry `features: {kind: 'flights-v1'}` (the old
  // default) through continue-as-new: that is no feature spec either.
  if (!Array.isArray((input.features as { features?: unknown } | undefined)?.features) || input.label === undefined)
    throw new FeatureSpecError(
      `this lifecycle's model spec predates the feature spec language (no ${input.features && input.label === undefined ? 'data.label' : 'feature spec'}): ` +
        're-apply the model spec with `features:` and `data.label` (`flywheel pipeline start <model.yaml>`) so the data can be prepared',
    );
  return {
    features: input.features!,
    label: input.label,
    ...(input.task ? { task: input.task } : {}),
    ...(input.time !== undefined ? { time: input.time } : {}),
  };
}

/** First 16 hex of sha256 over what decides the outputs. */
export function featuresKey(columns: ModelColumns, fractions: SplitFractions = {}): string {
  const value = {
    features: columns.features,
    task: columns.task ?? 'binary',
    label: columns.label,
    time: columns.time ?? null,
    splits: resolveFractions(fractions),
  };
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

/** Where a version's features for these model columns are summarised (written last). */
export function featuresSummaryKey(manifest: DatasetManifest, columns: ModelColumns, fractions: SplitFractions = {}): string {
  return `${datasetPrefix(manifest.dataset, manifest.datasetVersion)}/features/${featuresKey(columns, fractions)}/summary.json`;
}

/** The features already built for these columns (a retry, or another model with the same spec on
 * the version), or undefined: checked before the version is loaded, so a repeat loads nothing. */
export async function storedFeatures(
  store: ArtifactStore,
  manifest: DatasetManifest,
  columns: ModelColumns,
  fractions: SplitFractions = {},
): Promise<FeaturesOutcome | undefined> {
  const key = featuresSummaryKey(manifest, columns, fractions);
  return (await store.exists(key)) ? getJson<FeaturesOutcome>(store, key) : undefined;
}

/** `__label` per task: binary INTEGER 0/1, multiclass VARCHAR, regression DOUBLE. */
function labelValueSql(task: TaskKind, v: string): string {
  if (task === 'binary') return `CAST(TRY_CAST(${v} AS DOUBLE) AS INTEGER)`;
  if (task === 'multiclass') return `CAST(${v} AS VARCHAR)`;
  return `TRY_CAST(${v} AS DOUBLE)`;
}

/** A labelled row whose label cannot be a target for the task. */
function badLabelSql(task: TaskKind, v: string): { bad: string; what: string } {
  if (task === 'binary') return { bad: `NOT (TRY_CAST(${v} AS DOUBLE) IN (0, 1))`, what: 'not 0/1 (a binary label is 0/1 or true/false)' };
  if (task === 'multiclass') return { bad: `CAST(${v} AS VARCHAR) = ''`, what: 'an empty class name' };
  return { bad: `NOT coalesce(isfinite(TRY_CAST(${v} AS DOUBLE)), false)`, what: 'not a finite number (a regression label)' };
}

async function fail(
  store: ArtifactStore,
  manifest: DatasetManifest,
  prefix: string,
  rows: number,
  problems: ValidationProblem[],
): Promise<never> {
  const report = buildReport(manifest.dataset, manifest.datasetVersion, rows, problems, false);
  const info = await putJson(store, `${prefix}/report.json`, report);
  await store.put(`${prefix}/report.txt`, renderReportText(report), { contentType: 'text/plain' });
  throw new DataValidationError(report, info.uri);
}

const problem = (message: string, extra: Partial<ValidationProblem> = {}): ValidationProblem => ({
  severity: 'error',
  rule: 'label',
  message,
  ...extra,
});

/**
 * Builds the splits and fitted features of `from` — a TABLE holding a dataset version in file
 * order (loadDataset's `dataset_rows`): without a time column rows are split by a hash of their
 * `rowid` — for one model. Idempotent: a retry returns the stored summary. Labels that cannot be
 * targets, a multiclass training split with fewer than 2 classes and a spec that does not match
 * the data fail with a DataValidationError whose report is stored beside the outputs.
 */
export async function buildTableFeatures(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  from: string,
  columns: ModelColumns,
  fractions: SplitFractions = {},
  signal?: AbortSignal,
): Promise<FeaturesOutcome> {
  const task = columns.task ?? 'binary';
  const summaryKey = featuresSummaryKey(manifest, columns, fractions);
  const prefix = summaryKey.slice(0, -'/summary.json'.length);
  const stored = await storedFeatures(store, manifest, columns, fractions);
  if (stored) return stored;

  const described = await duck.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const [{ n: total } = { n: 0 }] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${from}`, signal);
  for (const reserved of [LABEL_COLUMN, SPLIT_COLUMN])
    if (described.some((c) => c.column_name === reserved))
      await fail(store, manifest, prefix, total, [problem(`the data has a column named ${reserved}, a name the split files reserve`)]);

  // The label's values, checked in one scan before anything is written.
  const v = labelSql(columns.label);
  const { bad, what } = badLabelSql(task, v);
  let check: { n: number; x: string[] | null } | undefined;
  try {
    [check] = await duck.all<{ n: number; x: string[] | null }>(
      `SELECT count(*) FILTER (WHERE ${v} IS NOT NULL AND ${bad})::BIGINT AS n,
              (list(DISTINCT CAST(${v} AS VARCHAR)) FILTER (WHERE ${v} IS NOT NULL AND ${bad}))[1:5] AS x
       FROM ${from}`,
      signal,
    );
  } catch (err) {
    if (signal?.aborted) throw err;
    const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    await fail(store, manifest, prefix, total, [problem(`the label ${labelText(columns.label)} cannot be read: ${detail}`)]);
  }
  if (check && check.n > 0)
    await fail(store, manifest, prefix, total, [
      problem(`${check.n} labels are ${what} (e.g. ${(check.x ?? []).join(', ')})`, { observed: { rows: check.n, examples: check.x } }),
    ]);

  // Label and split per row; rows with no label cannot train or evaluate (the raw version keeps them).
  const t = columns.time !== undefined ? `TRY_CAST(${sqlIdent(columns.time)} AS TIMESTAMP)` : undefined;
  let split: string;
  let cutoffs: SplitCutoffs | undefined;
  const labelled = `${v} IS NOT NULL`;
  const [{ n: withLabel, nt: withTime } = { n: 0, nt: 0 }] = await duck.all<{ n: number; nt: number }>(
    `SELECT count(*) FILTER (WHERE ${labelled})::BIGINT AS n, count(*) FILTER (WHERE ${labelled}${t ? ` AND ${t} IS NOT NULL` : ''})::BIGINT AS nt FROM ${from}`,
    signal,
  );
  if (withTime === 0)
    await fail(store, manifest, prefix, total, [
      problem(withLabel === 0 ? `no row has a label (${total} rows)` : `no labelled row has a time value in ${columns.time}`),
    ]);
  if (t) {
    cutoffs = await timeSplitCutoffs(
      duck,
      `(SELECT ${t} AS t FROM ${from} WHERE ${labelled} AND ${t} IS NOT NULL)`,
      't',
      fractions,
      signal,
    );
    split = timeSplitSql(t, cutoffs);
  } else {
    split = hashSplitSql('rowid', fractions);
  }
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE ${LABELLED} AS
     SELECT *, ${labelValueSql(task, v)} AS ${LABEL_COLUMN}, ${split} AS ${SPLIT_COLUMN}
     FROM ${from} WHERE ${labelled}${t ? ` AND ${t} IS NOT NULL` : ''} ORDER BY ${t ?? 'rowid'}`,
    signal,
  );
  const trainFrom = `(SELECT * EXCLUDE (${SPLIT_COLUMN}) FROM ${LABELLED} WHERE ${SPLIT_COLUMN} = 'train')`;

  let fittedTask: Task = task === 'binary' ? BINARY_TASK : { kind: 'regression' };
  let unseenClass = 0;
  if (task === 'multiclass') {
    const rows = await duck.columns(`SELECT DISTINCT ${LABEL_COLUMN} AS c FROM ${trainFrom}`, signal);
    const classes = fitClasses(rows.c as string[]);
    if (classes.length < 2)
      await fail(store, manifest, prefix, withTime, [
        problem(
          `the training split has ${classes.length} class${classes.length === 1 ? ` (${classes[0]})` : 'es'}; multiclass needs at least 2`,
        ),
      ]);
    // Class names are answered to clients and logged with every prediction: each must be storable
    // text, and a label with thousands of values is a regression or an ID, not classes.
    const unstorable = classes.find((c) => storableTextProblem(c) !== undefined || c.length > MAX_CLASS_NAME_LENGTH);
    if (unstorable !== undefined)
      await fail(store, manifest, prefix, withTime, [
        problem(
          `class ${JSON.stringify(unstorable.slice(0, 40))} ${storableTextProblem(unstorable) ?? `is longer than ${MAX_CLASS_NAME_LENGTH} characters`}: class names are answered and logged as text`,
        ),
      ]);
    if (classes.length > MAX_CLASSES)
      await fail(store, manifest, prefix, withTime, [
        problem(
          `the label has ${classes.length} distinct values in the training split; multiclass takes at most ${MAX_CLASSES} (is it a regression label or an ID?)`,
        ),
      ]);
    fittedTask = { kind: 'multiclass', classes };
    // The model has no output for a class training never saw: those evaluation rows are dropped.
    const known = `[${classes.map(sqlString).join(', ')}]::VARCHAR[]`;
    const [u] = await duck.all<{ n: number }>(
      `SELECT count(*)::BIGINT AS n FROM ${LABELLED} WHERE NOT list_contains(${known}, ${LABEL_COLUMN})`,
      signal,
    );
    unseenClass = u?.n ?? 0;
    if (unseenClass) await duck.run(`DELETE FROM ${LABELLED} WHERE NOT list_contains(${known}, ${LABEL_COLUMN})`, signal);
  }

  let fitted: FittedFeatures;
  try {
    fitted = await fitFeatures(duck, trainFrom, columns.features, { fittedOn: manifest.datasetVersion, ...(signal ? { signal } : {}) });
  } catch (err) {
    if (!(err instanceof FeatureDataError)) throw err;
    return fail(
      store,
      manifest,
      prefix,
      withTime,
      err.problems.map((p) => ({ severity: 'error', rule: 'spec_column', message: p })),
    );
  }
  fitted = { ...fitted, task: fittedTask, label: labelText(columns.label) };

  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-features-'));
  try {
    const splits = {} as FeaturesOutcome['splits'];
    for (const s of SPLITS) {
      const out = join(tmp, `${s}.parquet`);
      await duck.run(
        `COPY (SELECT * EXCLUDE (${SPLIT_COLUMN}) FROM ${LABELLED} WHERE ${SPLIT_COLUMN} = '${s}')
         TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
        signal,
      );
      const [c] = await duck.all<{ n: number; p: number }>(
        `SELECT count(*)::BIGINT AS n, ${task === 'binary' ? `coalesce(sum(${LABEL_COLUMN}), 0)` : '0'}::BIGINT AS p
         FROM ${LABELLED} WHERE ${SPLIT_COLUMN} = '${s}'`,
        signal,
      );
      const info = await store.putStream(`${prefix}/splits/${s}.parquet`, createReadStream(out), {
        contentType: 'application/vnd.apache.parquet',
      });
      splits[s] = { uri: info.uri, rows: c?.n ?? 0, positives: c?.p ?? 0 };
    }
    const specInfo = await putJson(store, `${prefix}/fitted-features.json`, fitted);
    const outcome: FeaturesOutcome = {
      featureSpecUri: specInfo.uri,
      featureSpecHash: fittedFeaturesHash(fitted),
      task: fittedTask,
      key: featuresKey(columns, fractions),
      ...(cutoffs ? { cutoffs } : {}),
      splits,
      dropped: { noTime: withLabel - withTime, unseenClass },
    };
    await putJson(store, summaryKey, outcome);
    return outcome;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await duck.run(`DROP TABLE IF EXISTS ${LABELLED}`);
  }
}
