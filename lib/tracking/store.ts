// The SQL side of experiment tracking: training runs and drift-monitor checks in Flywheel's
// database. Writes are idempotent (an activity retry writes the same row again), so a crash
// between the write and the activity's completion leaves one row, not two.
import type { Queryable } from '../db/index.ts';
import type { DriftCheckSummary } from '../contracts/drift-monitor.ts';
import type { MonitorCheckRecord, RunEpoch, RunStatus, RunSystemInfo, TrainingRunRecord } from './types.ts';

interface RunRow {
  run_id: string;
  model: string;
  dataset_version: string;
  trainer: string;
  status: RunStatus;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  epochs: RunEpoch[];
  system: RunSystemInfo | null;
  artifacts: Record<string, string>;
  summary: string;
  version: number | null;
  mlflow_run_id: string | null;
  started_at: Date | null;
  recorded_at: Date;
  [key: string]: unknown;
}

function toRun(row: RunRow): TrainingRunRecord {
  return {
    runId: row.run_id,
    model: row.model,
    datasetVersion: row.dataset_version,
    trainer: row.trainer,
    status: row.status,
    params: row.params,
    metrics: row.metrics,
    epochs: row.epochs,
    system: row.system,
    artifacts: row.artifacts,
    summary: row.summary,
    version: row.version,
    mlflowRunId: row.mlflow_run_id,
    startedAt: row.started_at ? row.started_at.toISOString() : null,
    recordedAt: row.recorded_at.toISOString(),
  };
}

export type NewTrainingRun = Omit<TrainingRunRecord, 'recordedAt' | 'version' | 'mlflowRunId'> & {
  version?: number | null;
  mlflowRunId?: string | null;
};

/** Inserts or replaces the run (an evaluation retry records the same run again); a version or
 * MLflow run id already linked is kept when the new record has none. */
export async function recordRun(db: Queryable, run: NewTrainingRun): Promise<TrainingRunRecord> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO training_runs (run_id, model, dataset_version, trainer, status, params, metrics, epochs, system, artifacts, summary, version, mlflow_run_id, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (run_id) DO UPDATE SET model = EXCLUDED.model, dataset_version = EXCLUDED.dataset_version, trainer = EXCLUDED.trainer,
       status = EXCLUDED.status, params = EXCLUDED.params, metrics = EXCLUDED.metrics, epochs = EXCLUDED.epochs, system = EXCLUDED.system,
       artifacts = EXCLUDED.artifacts, summary = EXCLUDED.summary, version = COALESCE(EXCLUDED.version, training_runs.version),
       mlflow_run_id = COALESCE(EXCLUDED.mlflow_run_id, training_runs.mlflow_run_id), started_at = EXCLUDED.started_at, recorded_at = now()
     RETURNING *`,
    [
      run.runId,
      run.model,
      run.datasetVersion,
      run.trainer,
      run.status,
      JSON.stringify(run.params),
      JSON.stringify(run.metrics),
      JSON.stringify(run.epochs),
      run.system ? JSON.stringify(run.system) : null,
      JSON.stringify(run.artifacts),
      run.summary,
      run.version ?? null,
      run.mlflowRunId ?? null,
      run.startedAt,
    ],
  );
  return toRun(rows[0]!);
}

/** Links a run to the registry version it became (and its MLflow run, when mirrored). Returns false
 * when no such run is recorded (runs registered before tracking existed). */
export async function linkRunVersion(db: Queryable, runId: string, version: number, mlflowRunId?: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE training_runs SET version = $2, mlflow_run_id = COALESCE($3, mlflow_run_id) WHERE run_id = $1`,
    [runId, version, mlflowRunId ?? null],
  );
  return rowCount > 0;
}

export async function setMlflowRunId(db: Queryable, runId: string, mlflowRunId: string): Promise<void> {
  await db.query(`UPDATE training_runs SET mlflow_run_id = $2 WHERE run_id = $1`, [runId, mlflowRunId]);
}

export interface ListRunsOptions {
  model?: string;
  /** @default 50 */
  limit?: number;
  offset?: number;
}

/** Newest first. */
export async function listRuns(db: Queryable, options: ListRunsOptions = {}): Promise<TrainingRunRecord[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  const params: unknown[] = [limit, options.offset ?? 0];
  const where = options.model !== undefined ? `WHERE model = $${params.push(options.model)}` : '';
  const { rows } = await db.query<RunRow>(
    `SELECT * FROM training_runs ${where} ORDER BY recorded_at DESC, run_id LIMIT $1 OFFSET $2`,
    params,
  );
  return rows.map(toRun);
}

export async function getRun(db: Queryable, runId: string): Promise<TrainingRunRecord | null> {
  const { rows } = await db.query<RunRow>(`SELECT * FROM training_runs WHERE run_id = $1`, [runId]);
  return rows[0] ? toRun(rows[0]) : null;
}

/** The runs with these ids that are recorded, in the order asked. */
export async function getRuns(db: Queryable, runIds: readonly string[]): Promise<TrainingRunRecord[]> {
  if (runIds.length === 0) return [];
  const { rows } = await db.query<RunRow>(`SELECT * FROM training_runs WHERE run_id = ANY($1)`, [runIds]);
  const byId = new Map(rows.map((r) => [r.run_id, toRun(r)]));
  return runIds.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

interface CheckRow {
  model: string;
  summary: DriftCheckSummary;
  [key: string]: unknown;
}

/** Idempotent per (model, checkId): a retried check activity replaces its own row. */
export async function recordCheck(db: Queryable, model: string, check: DriftCheckSummary): Promise<void> {
  await db.query(
    `INSERT INTO monitor_checks (model, check_id, at, status, breach, champion_version, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (model, check_id) DO UPDATE SET at = EXCLUDED.at, status = EXCLUDED.status, breach = EXCLUDED.breach,
       champion_version = EXCLUDED.champion_version, summary = EXCLUDED.summary`,
    [model, check.checkId, check.at, check.status, check.breach, check.championVersion, JSON.stringify(check)],
  );
}

export interface ListChecksOptions {
  /** @default 200 */
  limit?: number;
  /** Only checks at or after this time (ISO). */
  since?: string;
}

/** Oldest first (the newest `limit` checks), ready to chart. */
export async function listChecks(db: Queryable, model: string, options: ListChecksOptions = {}): Promise<MonitorCheckRecord[]> {
  const limit = Math.min(Math.max(options.limit ?? 200, 1), 5000);
  const params: unknown[] = [model, limit];
  const since = options.since !== undefined ? `AND at >= $${params.push(options.since)}` : '';
  const { rows } = await db.query<CheckRow>(
    `SELECT model, summary FROM (SELECT * FROM monitor_checks WHERE model = $1 ${since} ORDER BY at DESC LIMIT $2) newest ORDER BY at`,
    params,
  );
  return rows.map((r) => ({ ...r.summary, model: r.model }));
}
