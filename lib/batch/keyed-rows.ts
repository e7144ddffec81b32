// Bulk-loads (job, entity key, JSON) rows with COPY into a staging table, then upserts them, so a
// retried chunk replaces its own rows instead of failing on the primary key or duplicating them.
// Shared by keyed batch predictions and batch feature tables (migration 0008).
import type { Database, Queryable } from '../db/index.ts';

/** The tables this loader writes, and their JSON column: never user input, so never quoted wrong. */
export const KEYED_TABLES = {
  predictions: { table: 'batch_keyed_predictions', value: 'prediction', type: 'json' },
  features: { table: 'batch_feature_rows', value: 'features', type: 'jsonb' },
} as const;

export type KeyedTable = keyof typeof KEYED_TABLES;

export interface KeyedRow {
  key: string;
  /** Serialised JSON (an object). */
  json: string;
}

/** One CSV field, always quoted: keys and JSON hold commas, quotes and newlines. */
function csvField(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** Loads one chunk's rows under `jobId`; returns how many were written. */
export async function loadKeyedRows(db: Database, which: KeyedTable, jobId: string, rows: readonly KeyedRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { table, value, type } = KEYED_TABLES[which];
  const job = csvField(jobId);
  const lines = rows.map((r) => `${job},${csvField(r.key)},${csvField(r.json)}`);
  return db.transaction(async (tx) => {
    // The staging column takes the target's JSON type: `json` keeps a prediction's text as written.
    await tx.exec(`CREATE TEMP TABLE batch_keyed_staging (job_id text, entity_key text, value ${type}) ON COMMIT DROP`);
    await tx.copyFromCsv('batch_keyed_staging', ['job_id', 'entity_key', 'value'], lines.join('\n') + '\n');
    const { rowCount } = await tx.query(
      `INSERT INTO ${table} (job_id, entity_key, ${value}) SELECT job_id, entity_key, value FROM batch_keyed_staging
       ON CONFLICT (job_id, entity_key) DO UPDATE SET ${value} = EXCLUDED.${value}`,
    );
    return rowCount;
  });
}

export async function countKeyedRows(db: Pick<Queryable, 'query'>, which: KeyedTable, jobId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${KEYED_TABLES[which].table} WHERE job_id = $1`, [jobId]);
  return rows[0]?.n ?? 0;
}
