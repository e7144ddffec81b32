// Batch predictions keyed by an entity key (migration 0008), for the lambda read path: a keyed
// job's predictions load under its id, and `publishKeyedJob` flips the model's serving pointer to
// it in one transaction once every row is in. The lookup joins through that pointer (primary-key
// reads only), so it sees the previous complete job until the new one is whole.
import type { Database, Queryable } from '../db/index.ts';
import { countKeyedRows } from './keyed-rows.ts';

export interface KeyedJob {
  jobId: string;
  model: string;
  modelVersion: number;
  datasetUri: string;
  keyColumn: string;
}

export async function registerKeyedJob(db: Database, job: KeyedJob): Promise<void> {
  await db.query(
    `INSERT INTO batch_prediction_jobs (job_id, model, model_version, dataset_uri, key_column) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (job_id) DO NOTHING`,
    [job.jobId, job.model, job.modelVersion, job.datasetUri, job.keyColumn],
  );
}

/** Makes a complete keyed job the one lookups read; refuses one whose row count is short. */
export async function publishKeyedJob(db: Database, job: { jobId: string; model: string; expectedRows: number }): Promise<void> {
  await db.transaction(async (tx) => {
    const loaded = await countKeyedRows(tx, 'predictions', job.jobId);
    if (loaded !== job.expectedRows)
      throw new Error(
        `job ${job.jobId} has ${loaded} keyed predictions loaded, expected ${job.expectedRows}: not publishing a partial run`,
      );
    await tx.query('UPDATE batch_prediction_jobs SET rows = $2, published_at = now() WHERE job_id = $1', [job.jobId, loaded]);
    await tx.query(
      `INSERT INTO batch_prediction_serving (model, job_id) VALUES ($1, $2)
       ON CONFLICT (model) DO UPDATE SET job_id = EXCLUDED.job_id`,
      [job.model, job.jobId],
    );
  });
}

export interface PublishedJob {
  jobId: string;
  modelVersion: number;
  /** When the job completed and was published: its predictions' age. */
  publishedAt: Date;
}

export interface KeyedLookup {
  /** The model's published keyed job; undefined when it has none. */
  job?: PublishedJob;
  /** Predictions of the published job by key (as the predict route answers for the model's task,
   * with `version`); keys the job has no row for are absent. */
  predictions: Map<string, Record<string, unknown>>;
}

/** The request-time read: one round trip, the pointer and the (job, key) rows by primary key. */
export async function readKeyedPredictions(db: Pick<Queryable, 'query'>, model: string, keys: readonly string[]): Promise<KeyedLookup> {
  const { rows } = await db.query<{
    job_id: string;
    model_version: number;
    published_at: Date;
    entity_key: string | null;
    prediction: Record<string, unknown> | null;
  }>(
    `SELECT j.job_id, j.model_version, j.published_at, p.entity_key, p.prediction
     FROM batch_prediction_serving s
     JOIN batch_prediction_jobs j ON j.job_id = s.job_id
     LEFT JOIN batch_keyed_predictions p ON p.job_id = s.job_id AND p.entity_key = ANY($2::text[])
     WHERE s.model = $1`,
    [model, keys],
  );
  const first = rows[0];
  const predictions = new Map<string, Record<string, unknown>>();
  for (const r of rows) if (r.entity_key !== null && r.prediction) predictions.set(r.entity_key, r.prediction);
  if (!first) return { predictions };
  return { job: { jobId: first.job_id, modelVersion: first.model_version, publishedAt: first.published_at }, predictions };
}
