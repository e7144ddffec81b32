// Batch feature-table activities (CPU queue): plan a source (rows, columns, key checks), load one
// row range of it as (entity key, features JSON) rows under the job's id, publish the job. Each
// worker keeps one local copy of each source.
import { Context } from '@temporalio/activity';
import { publishFeatureJob, registerFeatureJob, type FeatureJob } from '../../lib/batch/feature-table.ts';
import { loadKeyedRows } from '../../lib/batch/keyed-rows.ts';
import type { Database } from '../../lib/db/index.ts';
import { sqlIdent, withDuck } from '../../lib/data/duck.ts';
import { createSourceCache, readSql, type SourceContext } from '../../lib/data/sources.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import type { BatchFeaturesInput, BatchFeaturesPlan, FeatureColumnPlan } from '../../lib/contracts/batch-features.ts';

export interface FeatureTableActivityDeps {
  store: ArtifactStore;
  db: Database;
  s3?: S3StoreOptions;
  logger: Logger;
}

const KEY = '__flywheel_entity_key';
const FEATURES = '__flywheel_features';

/** A column as stored: timestamps and dates as ISO 8601 text, the form a predict request sends. */
function columnExpr(c: FeatureColumnPlan): string {
  const col = sqlIdent(c.name);
  if (/^TIMESTAMP/i.test(c.type)) return `strftime(${col}, '%Y-%m-%dT%H:%M:%S')`;
  if (/^DATE$/i.test(c.type)) return `strftime(${col}, '%Y-%m-%d')`;
  return col;
}

export function createFeatureTableActivities(deps: FeatureTableActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };
  const source = createSourceCache(ctx, 'flywheel-features');

  return {
    async planFeatureTable(input: BatchFeaturesInput): Promise<BatchFeaturesPlan> {
      const from = readSql([await source(input.sourceUri)]);
      const key = sqlIdent(input.keyColumn);
      const described = await withDuck((duck) => duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`));
      const types = new Map(described.map((c) => [c.column_name, c.column_type]));
      if (!types.has(input.keyColumn))
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: `${input.sourceUri} has no key column ${JSON.stringify(input.keyColumn)} (it has ${[...types.keys()].join(', ')})`,
        });
      const wanted = input.columns ?? [...types.keys()].filter((c) => c !== input.keyColumn);
      const missing = wanted.filter((c) => !types.has(c));
      if (missing.length > 0)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: `${input.sourceUri} lacks the column(s) ${missing.join(', ')}` });
      if (wanted.length === 0)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: 'a feature table needs at least one column' });
      const [stats] = await withDuck((duck) =>
        duck.all<{ n: number; nulls: number; duplicates: number }>(
          `SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE ${key} IS NULL)::BIGINT AS nulls,
                  (count(${key}) - count(DISTINCT CAST(${key} AS VARCHAR)))::BIGINT AS duplicates FROM ${from}`,
        ),
      );
      const { n = 0, nulls = 0, duplicates = 0 } = stats ?? {};
      if (nulls > 0 || duplicates > 0)
        throw permanentFailure(FAILURE_TYPES.DataValidationFailed, {
          summary: `key column ${JSON.stringify(input.keyColumn)} of ${input.sourceUri} must be unique and non-null: ${nulls} null, ${duplicates} duplicate`,
        });
      const chunkRows = input.chunkRows ?? 100_000;
      if (!Number.isInteger(chunkRows) || chunkRows < 1)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: `chunkRows must be a positive integer, got ${chunkRows}` });
      return { rows: n, chunkRows, columns: wanted.map((name) => ({ name, type: types.get(name)! })) };
    },

    async registerFeatureTableJob(job: FeatureJob): Promise<void> {
      await registerFeatureJob(deps.db, job);
    },

    /** Rows [start, end) in key order: keys are unique, so every run reads the same rows. */
    async loadFeatureChunk(input: {
      jobId: string;
      sourceUri: string;
      keyColumn: string;
      columns: FeatureColumnPlan[];
      chunk: { index: number; start: number; end: number };
    }): Promise<number> {
      const context = Context.current();
      const from = readSql([await source(input.sourceUri)]);
      const key = `CAST(${sqlIdent(input.keyColumn)} AS VARCHAR)`;
      const struct = input.columns.map((c) => `${sqlIdent(c.name)} := ${columnExpr(c)}`).join(', ');
      const rows = await withDuck(
        (duck) =>
          duck.all<Record<string, string>>(
            `SELECT ${key} AS ${KEY}, to_json(struct_pack(${struct}))::VARCHAR AS ${FEATURES} FROM ${from}
             ORDER BY ${key} LIMIT ${input.chunk.end - input.chunk.start} OFFSET ${input.chunk.start}`,
            context.cancellationSignal,
          ),
        { threads: 1 },
      );
      context.heartbeat({ chunk: input.chunk.index, rowsRead: rows.length });
      return loadKeyedRows(
        deps.db,
        'features',
        input.jobId,
        rows.map((r) => ({ key: r[KEY]!, json: r[FEATURES]! })),
      );
    },

    /** Returns when the job was published (ISO 8601). */
    async publishFeatureTable(job: { jobId: string; table: string; expectedRows: number }): Promise<string> {
      const at = await publishFeatureJob(deps.db, job);
      deps.logger.info({ jobId: job.jobId, table: job.table, rows: job.expectedRows }, 'feature table published');
      return at.toISOString();
    },
  };
}

export type FeatureTableActivities = ReturnType<typeof createFeatureTableActivities>;
