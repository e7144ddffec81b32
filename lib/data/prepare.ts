// The steps after ingest, over a dataset version: validate, profile, and build the splits and
// fitted features. Each step reads the version's Parquet file into DuckDB and writes its outputs
// beside the version in the artifact store. What the model reads (feature spec, label, time)
// decides what is checked and profiled; nothing here knows any one dataset.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { FeatureSpec } from '../features/tabular/spec.ts';
import { canonicalJson } from '../features/tabular/state.ts';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { TaskKind } from '../tasks/task.ts';
import type { Duck } from './duck.ts';
import { DataValidationError } from './errors.ts';
import { profileDefinitionsForFeatures, profileKey } from './feature-profile.ts';
import { datasetPrefix, type DatasetManifest } from './ingest.ts';
import { inferProfileFeatures, profileTable, type FeatureDef, type InferFeaturesOptions } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';
import { labelSql } from './label-sql.ts';
import type { LabelSpec } from './source-spec.ts';
import { materializeSource, readSql, type SourceContext } from './sources.ts';
import { specColumnProblems, type SpecColumns } from './spec-columns.ts';
import type { SplitFractions } from './splits.ts';
import { buildTableFeatures, type FeaturesOutcome, type ModelColumns } from './table-features.ts';
import { validateTable } from './validation/engine.ts';
import { buildReport, renderReportText, type ValidationReport } from './validation/report.ts';
import type { ValidationSpec } from './validation/spec.ts';

export { requireModelColumns, storedFeatures, type FeaturesOutcome, type ModelColumns, type SplitInfo } from './table-features.ts';

const TABLE = 'dataset_rows';

/** Loads a dataset version into the temp table `dataset_rows`. */
export async function loadDataset(duck: Duck, ctx: SourceContext, manifest: DatasetManifest, signal?: AbortSignal): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-ds-'));
  try {
    const file = await materializeSource(ctx, manifest.dataUri, tmp, signal);
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${TABLE} AS SELECT * FROM ${readSql([file])}`, signal);
    return TABLE;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function readManifest(store: ArtifactStore, manifestUri: string): Promise<DatasetManifest> {
  return getJson<DatasetManifest>(store, store.keyFor(manifestUri));
}

export async function readProfile(store: ArtifactStore, profileUri: string): Promise<DatasetProfile> {
  return getJson<DatasetProfile>(store, store.keyFor(profileUri));
}

/** `-<hash>` of the model's columns when it has a feature spec or a label (its outputs are its
 * own); empty otherwise, the names written before the feature language. */
function columnsSuffix(columns: { features?: FeatureSpec; label?: LabelSpec; task?: TaskKind; time?: string }): string {
  if (!columns.features && columns.label === undefined) return '';
  const value = {
    features: columns.features ?? null,
    label: columns.label ?? null,
    task: columns.task ?? null,
    time: columns.time ?? null,
  };
  return `-${createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16)}`;
}

export interface ValidationOutcome {
  report: ValidationReport;
  reportUri: string;
}

/** Validates, stores the report (JSON + text), and throws DataValidationError on hard violations.
 * With the model's columns (feature spec, label, time), a column the model reads that is missing or
 * of an unusable type is a hard violation (rule `spec_column`) before any training. */
export async function validateDatasetVersion(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  spec: ValidationSpec,
  reference: DatasetProfile | undefined,
  signal?: AbortSignal,
  columns: SpecColumns = {},
): Promise<ValidationOutcome> {
  const mismatches = await specColumnProblems(duck, TABLE, columns, signal);
  const ruled = await validateTable(duck, {
    from: TABLE,
    spec,
    subject: manifest.datasetVersion,
    ...(reference ? { reference } : {}),
    ...(signal ? { signal } : {}),
  });
  const report = mismatches.length
    ? buildReport(ruled.dataset, ruled.subject, ruled.rows, [...mismatches, ...ruled.problems], ruled.referenceUsed)
    : ruled;
  // Models with different specs check different columns: each keeps its own report.
  const prefix = `${datasetPrefix(manifest.dataset, manifest.datasetVersion)}/validation${columnsSuffix(columns)}`;
  const info = await putJson(store, `${prefix}.json`, report);
  await store.put(`${prefix}.txt`, renderReportText(report), { contentType: 'text/plain' });
  if (!report.passed) throw new DataValidationError(report, info.uri);
  return { report, reportUri: info.uri };
}

export interface ProfileColumns extends InferFeaturesOptions {
  /** The model's feature spec: the profile covers what the model reads (profileDefinitionsForFeatures). */
  features?: FeatureSpec;
  /** Profiled as `__label`. */
  label?: LabelSpec;
  /** How the label is profiled; unset: guessed from its type (BOOLEAN binary, numbers regression, else classes). */
  task?: TaskKind;
}

const NUMBER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;

/** What a dataset's profile covers: with a feature spec, the model's inputs and label
 * (profileDefinitionsForFeatures); without one (inputs from before the feature language), the
 * table's columns by type, with the time column's calendar parts. */
export async function profileFeaturesFor(duck: Duck, from: string, options: ProfileColumns = {}): Promise<FeatureDef[]> {
  const { features, label, task, ...infer } = options;
  if (!features) return inferProfileFeatures(duck, from, infer);
  if (label === undefined) return profileDefinitionsForFeatures(features);
  let kind = task;
  if (!kind) {
    const [d] = await duck.all<{ column_type: string }>(`DESCRIBE SELECT ${labelSql(label)} AS v FROM ${from}`);
    const type = d?.column_type ?? '';
    kind = type === 'BOOLEAN' ? 'binary' : NUMBER.test(type) ? 'regression' : 'multiclass';
  }
  return profileDefinitionsForFeatures(features, { label, task: kind });
}

export async function profileDatasetVersion(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  reference: DatasetProfile | undefined,
  signal?: AbortSignal,
  /** The model's columns; without a feature spec, the time column and columns to leave out. */
  options: ProfileColumns = {},
): Promise<{ profile: DatasetProfile; profileUri: string }> {
  const features = await profileFeaturesFor(duck, TABLE, options);
  const profile = await profileTable(duck, {
    from: TABLE,
    source: manifest.datasetVersion,
    features,
    ...(reference ? { reference } : {}),
    ...(signal ? { signal } : {}),
  });
  // Keyed by the model's feature spec and label: the drift monitor finds it with profileKey too.
  const key = profileKey(manifest.dataset, manifest.datasetVersion, options);
  const info = await putJson(store, key, profile);
  return { profile, profileUri: info.uri };
}

/** Builds the splits and fitted features of a loaded dataset version for one model (see
 * buildTableFeatures). */
export async function buildFeaturesForVersion(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  columns: ModelColumns,
  fractions: SplitFractions = {},
  signal?: AbortSignal,
): Promise<FeaturesOutcome> {
  return buildTableFeatures(duck, store, manifest, TABLE, columns, fractions, signal);
}
