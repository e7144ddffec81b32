// The lambda-architecture side of batch scoring: predictions bulk-loaded (COPY) into
// `batch_predictions` under the job's id, then published by flipping `batch_prediction_current`
// in one transaction. The request-time read joins through that pointer, so it sees the previous
// complete job until the new one is whole:
//
//   SELECT p.probability, p.model_version
//   FROM batch_prediction_current c JOIN batch_predictions p ON p.job_id = c.job_id
//   WHERE c.model = $1 AND c.dataset_uri = $2 AND p.row_number = $3;
import type { Database } from '../db/index.ts';

export interface ChunkRows {
  rowNumbers: ArrayLike<number>;
  probabilities: ArrayLike<number>;
  modelVersion: number;
}

/** Loads one chunk; a retried chunk replaces its own rows (delete + COPY in one transaction). */
export async function loadChunk(db: Database, jobId: string, range: { start: number; end: number }, rows: ChunkRows): Promise<number> {
  const lines: string[] = new Array(rows.rowNumbers.length);
  for (let i = 0; i < rows.rowNumbers.length; i++)
    lines[i] =
      `${jobId.includes(',') || jobId.includes('"') ? `"${jobId.replaceAll('"', '""')}"` : jobId},${rows.rowNumbers[i]},${rows.probabilities[i]},${rows.modelVersion}`;
  return db.transaction(async (tx) => {
    await tx.query('DELETE FROM batch_predictions WHERE job_id = $1 AND row_number >= $2 AND row_number < $3', [
      jobId,
      range.start,
      range.end,
    ]);
    return tx.copyFromCsv('batch_predictions', ['job_id', 'row_number', 'probability', 'model_version'], lines.join('\n') + '\n');
  });
}

export async function registerJob(
  db: Database,
  job: { jobId: string; model: string; modelVersion: number; datasetUri: string },
): Promise<void> {
  await db.query(
    `INSERT INTO batch_prediction_jobs (job_id, model, model_version, dataset_uri) VALUES ($1, $2, $3, $4)
     ON CONFLICT (job_id) DO NOTHING`,
    [job.jobId, job.model, job.modelVersion, job.datasetUri],
  );
}

/** Makes a complete job the one request-time reads see; refuses one whose row count is short. */
export async function publishJob(
  db: Database,
  job: { jobId: string; model: string; datasetUri: string; expectedRows: number },
): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int8 AS n FROM batch_predictions WHERE job_id = $1', [job.jobId]);
    const loaded = rows[0]?.n ?? 0;
    if (loaded !== job.expectedRows)
      throw new Error(`job ${job.jobId} has ${loaded} rows loaded, expected ${job.expectedRows}: not publishing a partial run`);
    await tx.query('UPDATE batch_prediction_jobs SET rows = $2, published_at = now() WHERE job_id = $1', [job.jobId, loaded]);
    await tx.query(
      `INSERT INTO batch_prediction_current (model, dataset_uri, job_id) VALUES ($1, $2, $3)
       ON CONFLICT (model, dataset_uri) DO UPDATE SET job_id = EXCLUDED.job_id`,
      [job.model, job.datasetUri, job.jobId],
    );
  });
}

/** The request-time read. */
export async function readPrediction(
  db: Database,
  model: string,
  datasetUri: string,
  rowNumber: number,
): Promise<{ probability: number; modelVersion: number; jobId: string } | undefined> {
  const { rows } = await db.query<{ probability: number; model_version: number; job_id: string }>(
    `SELECT p.probability, p.model_version, p.job_id FROM batch_prediction_current c
     JOIN batch_predictions p ON p.job_id = c.job_id
     WHERE c.model = $1 AND c.dataset_uri = $2 AND p.row_number = $3`,
    [model, datasetUri, rowNumber],
  );
  const r = rows[0];
  return r ? { probability: r.probability, modelVersion: r.model_version, jobId: r.job_id } : undefined;
}
