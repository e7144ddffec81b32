// The steps after ingest, over a dataset version: validate, profile, and build the feature
// state plus time splits. Each step reads the version's Parquet file into DuckDB and writes its
// outputs beside the version in the artifact store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { fitFlightsFeatureSpec } from '../features/fit.ts';
import { featureSpecHash, FLIGHTS_LABEL_SQL, type FlightsFeatureSpec } from '../features/flights.ts';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import type { Duck } from './duck.ts';
import { sqlString } from './duck.ts';
import { DataValidationError } from './errors.ts';
import { FLIGHTS_DATASET, FLIGHTS_PROFILE_FEATURES } from './flights.ts';
import { datasetPrefix, type DatasetManifest } from './ingest.ts';
import { inferProfileFeatures, profileTable, type FeatureDef, type InferFeaturesOptions } from './profile.ts';
import type { DatasetProfile } from './profile-types.ts';
import { materializeSource, readSql, type SourceContext } from './sources.ts';
import { splitPredicate, timeSplitCutoffs, type SplitCutoffs, type SplitFractions } from './splits.ts';
import { validateTable } from './validation/engine.ts';
import { renderReportText, type ValidationReport } from './validation/report.ts';
import type { ValidationSpec } from './validation/spec.ts';

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

export interface ValidationOutcome {
  report: ValidationReport;
  reportUri: string;
}

/** Validates, stores the report (JSON + text), and throws DataValidationError on hard violations. */
export async function validateDatasetVersion(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  spec: ValidationSpec,
  reference: DatasetProfile | undefined,
  signal?: AbortSignal,
): Promise<ValidationOutcome> {
  const report = await validateTable(duck, {
    from: TABLE,
    spec,
    subject: manifest.datasetVersion,
    ...(reference ? { reference } : {}),
    ...(signal ? { signal } : {}),
  });
  const prefix = `${datasetPrefix(manifest.dataset, manifest.datasetVersion)}/validation`;
  const info = await putJson(store, `${prefix}.json`, report);
  await store.put(`${prefix}.txt`, renderReportText(report), { contentType: 'text/plain' });
  if (!report.passed) throw new DataValidationError(report, info.uri);
  return { report, reportUri: info.uri };
}

/** What a dataset's profile covers: the flights features for flights (raw columns plus the
 * hour and weekday the model sees); for any other table its columns by type, with the time
 * column's calendar parts when the source names one. */
export async function profileFeaturesFor(
  duck: Duck,
  from: string,
  dataset: string,
  options: InferFeaturesOptions = {},
): Promise<FeatureDef[]> {
  return dataset === FLIGHTS_DATASET ? [...FLIGHTS_PROFILE_FEATURES] : inferProfileFeatures(duck, from, options);
}

export async function profileDatasetVersion(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  reference: DatasetProfile | undefined,
  signal?: AbortSignal,
  /** The source's time column (and columns to leave out), for a dataset other than flights. */
  options: InferFeaturesOptions = {},
): Promise<{ profile: DatasetProfile; profileUri: string }> {
  const features = await profileFeaturesFor(duck, TABLE, manifest.dataset, options);
  const profile = await profileTable(duck, {
    from: TABLE,
    source: manifest.datasetVersion,
    features,
    ...(reference ? { reference } : {}),
    ...(signal ? { signal } : {}),
  });
  const info = await putJson(store, `${datasetPrefix(manifest.dataset, manifest.datasetVersion)}/profile.json`, profile);
  return { profile, profileUri: info.uri };
}

export interface SplitInfo {
  uri: string;
  rows: number;
  positives: number;
}

export interface FeaturesOutcome {
  featureSpecUri: string;
  featureSpecHash: string;
  cutoffs: SplitCutoffs;
  splits: { train: SplitInfo; validation: SplitInfo; test: SplitInfo };
}

/** Splits by time, fits the feature spec on the training split, and writes both. Idempotent. */
export async function buildFlightsFeatures(
  duck: Duck,
  store: ArtifactStore,
  manifest: DatasetManifest,
  fractions: SplitFractions = {},
  signal?: AbortSignal,
): Promise<FeaturesOutcome> {
  const prefix = datasetPrefix(manifest.dataset, manifest.datasetVersion);
  const summaryKey = `${prefix}/features/summary.json`;
  if (await store.exists(summaryKey)) return getJson<FeaturesOutcome>(store, summaryKey);

  const cutoffs = await timeSplitCutoffs(duck, TABLE, 'date', fractions, signal);
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-features-'));
  try {
    const splits = {} as FeaturesOutcome['splits'];
    for (const split of ['train', 'validation', 'test'] as const) {
      const out = join(tmp, `${split}.parquet`);
      // Rows without a label cannot train or evaluate; the raw version keeps them.
      await duck.run(
        `COPY (SELECT date, distance, origin, destination, delay, ${FLIGHTS_LABEL_SQL} AS label FROM ${TABLE}
               WHERE ${splitPredicate(split, 'date', cutoffs)} AND delay IS NOT NULL AND date IS NOT NULL ORDER BY date)
         TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
        signal,
      );
      const [c] = await duck.all<{ n: number; p: number }>(
        `SELECT count(*)::BIGINT AS n, coalesce(sum(label), 0)::BIGINT AS p FROM read_parquet(${sqlString(out)})`,
        signal,
      );
      const info = await store.putStream(`${prefix}/splits/${split}.parquet`, createReadStream(out), {
        contentType: 'application/vnd.apache.parquet',
      });
      splits[split] = { uri: info.uri, rows: c?.n ?? 0, positives: c?.p ?? 0 };
    }
    const trainFrom = `(SELECT * FROM ${TABLE} WHERE ${splitPredicate('train', 'date', cutoffs)})`;
    const spec: FlightsFeatureSpec = await fitFlightsFeatureSpec(duck, trainFrom, manifest.datasetVersion, signal ? { signal } : {});
    const specInfo = await putJson(store, `${prefix}/features/flights-v1.json`, spec);
    const outcome: FeaturesOutcome = { featureSpecUri: specInfo.uri, featureSpecHash: featureSpecHash(spec), cutoffs, splits };
    await putJson(store, summaryKey, outcome);
    return outcome;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
