// Batch feature tables (migration 0008): per-entity features a batch workflow computed, keyed by
// entity key, for joining with request features at serving time. A job's rows load under its id;
// `publishFeatureJob` flips the table's pointer to it in one transaction once every row is in, so
// a lookup sees the previous complete job until the new one is whole.
import type { Database, Queryable } from '../db/index.ts';
import { countKeyedRows } from './keyed-rows.ts';

export interface FeatureJob {
  jobId: string;
  /** The feature table's name (what serving looks up; by default a served model's name). */
  table: string;
  keyColumn: string;
  sourceUri: string;
  /** Feature columns each row holds (the key column is not one of them). */
  columns: readonly string[];
}

export async function registerFeatureJob(db: Database, job: FeatureJob): Promise<void> {
  await db.query(
    `INSERT INTO batch_feature_jobs (job_id, feature_table, key_column, source_uri, columns) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (job_id) DO NOTHING`,
    [job.jobId, job.table, job.keyColumn, job.sourceUri, JSON.stringify(job.columns)],
  );
}

/** Makes a complete job the one the table's lookups read; refuses one whose row count is short. */
export async function publishFeatureJob(db: Database, job: { jobId: string; table: string; expectedRows: number }): Promise<Date> {
  return db.transaction(async (tx) => {
    const loaded = await countKeyedRows(tx, 'features', job.jobId);
    if (loaded !== job.expectedRows)
      throw new Error(`feature job ${job.jobId} has ${loaded} rows loaded, expected ${job.expectedRows}: not publishing a partial run`);
    const { rows } = await tx.query<{ published_at: Date }>(
      'UPDATE batch_feature_jobs SET rows = $2, published_at = now() WHERE job_id = $1 RETURNING published_at',
      [job.jobId, loaded],
    );
    await tx.query(
      `INSERT INTO batch_feature_current (feature_table, job_id) VALUES ($1, $2)
       ON CONFLICT (feature_table) DO UPDATE SET job_id = EXCLUDED.job_id`,
      [job.table, job.jobId],
    );
    return rows[0]!.published_at;
  });
}

export interface FeatureRows {
  /** The table's published job; undefined when it has none. */
  jobId?: string;
  /** Features by key; keys the job has no row for are absent. */
  rows: Map<string, Record<string, unknown>>;
}

/** The request-time read: the table's published rows for `keys`, in one round trip. */
export async function readFeatureRows(db: Pick<Queryable, 'query'>, table: string, keys: readonly string[]): Promise<FeatureRows> {
  const { rows } = await db.query<{ job_id: string; entity_key: string | null; features: Record<string, unknown> | null }>(
    `SELECT c.job_id, r.entity_key, r.features
     FROM batch_feature_current c
     LEFT JOIN batch_feature_rows r ON r.job_id = c.job_id AND r.entity_key = ANY($2::text[])
     WHERE c.feature_table = $1`,
    [table, keys],
  );
  const out = new Map<string, Record<string, unknown>>();
  for (const r of rows) if (r.entity_key !== null && r.features) out.set(r.entity_key, r.features);
  return rows[0] ? { jobId: rows[0].job_id, rows: out } : { rows: out };
}
