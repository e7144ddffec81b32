// Batch-scoring activities (CPU queue): resolve the model version once per job, plan chunks,
// score a chunk (heartbeating rows done; cancellation reaches the loop) and record its result in
// the store, write the manifest from those records.
// Each worker keeps one ONNX Runtime session per model and one local copy of each dataset.
import { Context } from '@temporalio/activity';
import { chunkRecordKey } from '../../lib/batch/chunks.ts';
import { outputColumns, scoreChunk, type ScoredRows } from '../../lib/batch/score.ts';
import { loadChunk, publishJob, registerJob } from '../../lib/batch/table.ts';
import { publishKeyedJob, registerKeyedJob } from '../../lib/batch/keyed-predictions.ts';
import { loadKeyedRows, type KeyedRow } from '../../lib/batch/keyed-rows.ts';
import { predictionOf } from '../../lib/tasks/task.ts';
import type { Database } from '../../lib/db/index.ts';
import { sqlIdent, sqlString, withDuck } from '../../lib/data/duck.ts';
import { createSourceCache, type SourceContext } from '../../lib/data/sources.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import { loadModelIO, type ModelIO } from '../../lib/features/tabular/model-io.ts';
import type { Logger } from '../../lib/log.ts';
import { OnnxSession } from '../../lib/onnx/index.ts';
import { ALIASES, type ModelRegistry } from '../../lib/registry/index.ts';
import { getJson, putJson, type ArtifactStore, type S3StoreOptions } from '../../lib/storage/index.ts';
import { FEATURE_SPEC_TAG } from '../evaluation/index.ts';
import type { OnnxProvider } from '../../lib/onnx/providers.ts';
import type {
  BatchChunkResult,
  BatchManifest,
  BatchManifestRequest,
  BatchPlan,
  BatchPredictInput,
  ScoredChunk,
} from '../../lib/contracts/batch-predict.ts';

/** Chunk records read at once while writing a manifest. */
const RECORD_READS = 16;

export interface BatchActivityDeps {
  store: ArtifactStore;
  /** Flywheel's database, for the precomputed-predictions table. */
  db?: Database;
  s3?: S3StoreOptions;
  registry: ModelRegistry;
  logger: Logger;
  /** ONNX Runtime providers for scoring (FLYWHEEL_ONNX_PROVIDERS, selected at start-up). @default ['cpu'] */
  executionProviders?: readonly OnnxProvider[];
}

export function createBatchActivities(deps: BatchActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };
  const sessions = new Map<string, Promise<{ session: OnnxSession; io: ModelIO }>>();
  const dataset = createSourceCache(ctx, 'flywheel-batch');

  function requireDb(): Database {
    if (!deps.db)
      throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: 'writing predictions to a table needs the database on this worker' });
    return deps.db;
  }

  function model(plan: BatchPlan['model']) {
    const key = `${plan.name}@${plan.version}`;
    let entry = sessions.get(key);
    if (!entry) {
      entry = (async () => ({
        session: await OnnxSession.create(await deps.store.get(deps.store.keyFor(plan.artifactUri), { verify: true }), {
          intraOpNumThreads: 1,
          ...(deps.executionProviders ? { executionProviders: deps.executionProviders } : {}),
        }),
        io: await loadModelIO(deps.store, plan.featureSpecUri),
      }))();
      entry.catch(() => sessions.delete(key));
      sessions.set(key, entry);
    }
    return entry;
  }

  return {
    async planBatch(input: Pick<BatchPredictInput, 'datasetUri' | 'model' | 'chunkRows' | 'keyColumn'>): Promise<BatchPlan> {
      const version = input.model.version
        ? await deps.registry.getVersion(input.model.name, input.model.version)
        : await deps.registry.getAlias(input.model.name, input.model.alias ?? ALIASES.champion);
      const featureSpecUri = version.tags[FEATURE_SPEC_TAG];
      if (!featureSpecUri)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: `${version.model} v${version.version} has no ${FEATURE_SPEC_TAG} tag: which feature spec it needs is unknown`,
        });
      const io = await loadModelIO(deps.store, featureSpecUri);
      const file = await dataset(input.datasetUri);
      const from = `read_parquet(${sqlString(file.path)}, hive_partitioning = false)`;
      const [[{ n } = { n: 0 }], described] = await withDuck(async (duck) => [
        await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${from}`),
        await duck.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${from}`),
      ]);
      // A dataset without one of the model's input columns would fail every chunk the same way.
      const present = new Set(described.map((c) => c.column_name));
      if (input.keyColumn) await checkEntityKeys(input.datasetUri, from, present, input.keyColumn);
      const missing = io.inputs.filter((c) => !present.has(c.column)).map((c) => c.column);
      if (missing.length > 0)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: `${input.datasetUri} lacks the input column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${version.model} v${version.version}`,
        });
      const chunkRows = input.chunkRows ?? 250_000;
      if (!Number.isInteger(chunkRows) || chunkRows < 1)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: `chunkRows must be a positive integer, got ${chunkRows}` });
      // The chunk size, not the chunk list: the plan is carried across continue-as-new.
      return {
        rows: n,
        chunkRows,
        model: {
          name: version.model,
          version: version.version,
          artifactUri: version.artifactUri,
          featureSpecUri,
          task: io.task.kind,
          outputColumns: outputColumns(io.task).map((c) => c.name),
        },
      };
    },

    async scoreBatchChunk(input: {
      datasetUri: string;
      outputPrefix: string;
      plan: BatchPlan['model'];
      chunk: { index: number; start: number; end: number };
      /** Also load the predictions into the table under this job id. */
      tableJobId?: string;
      /** Load them keyed by this column (the lambda read path) instead of by row number. */
      keyColumn?: string;
      /** With `keyColumn`: also load the row-number table (`writeTable` and `keyColumn` both set). */
      rowTable?: boolean;
      /** Where to record the chunk's result (see chunkRecordPrefix); absent in older workflows. */
      recordPrefix?: string;
    }): Promise<ScoredChunk> {
      const context = Context.current();
      const file = await dataset(input.datasetUri);
      const { session, io } = await model(input.plan);
      const result: BatchChunkResult = await withDuck(
        (duck) =>
          scoreChunk(duck, {
            path: file.path,
            chunk: input.chunk,
            io,
            session,
            modelVersion: input.plan.version,
            store: deps.store,
            outputPrefix: input.outputPrefix,
            signal: context.cancellationSignal,
            onProgress: (rowsDone) => context.heartbeat({ chunk: input.chunk.index, rowsDone }),
            ...(input.keyColumn ? { keyColumn: input.keyColumn } : {}),
            ...(input.tableJobId
              ? {
                  onScored: async (rows) => {
                    const jobId = input.tableJobId!;
                    if (!input.keyColumn || input.rowTable) await loadChunk(requireDb(), jobId, input.chunk, rows);
                    if (input.keyColumn) await loadKeyedRows(requireDb(), 'predictions', jobId, keyedPredictions(io, rows));
                  },
                }
              : {}),
          }),
        // One engine thread per chunk: parallelism comes from chunks and workers, not from
        // oversubscribing the cores inside one of them.
        { threads: 1 },
      );
      if (!input.recordPrefix) return result;
      // The manifest lists these records, so the workflow need not carry every chunk's result.
      await putJson(deps.store, chunkRecordKey(input.recordPrefix, result.index), result);
      return { ...result, recorded: true };
    },

    async registerBatchJob(job: {
      jobId: string;
      model: string;
      modelVersion: number;
      datasetUri: string;
      keyColumn?: string;
    }): Promise<void> {
      if (job.keyColumn) await registerKeyedJob(requireDb(), { ...job, keyColumn: job.keyColumn });
      else await registerJob(requireDb(), job);
    },

    async publishBatchTable(job: {
      jobId: string;
      model: string;
      datasetUri: string;
      expectedRows: number;
      /** Publish the keyed predictions (and, with `rowTable`, the row-number table too). */
      keyed?: boolean;
      rowTable?: boolean;
    }): Promise<void> {
      const { keyed, rowTable, ...rest } = job;
      if (!keyed || rowTable) await publishJob(requireDb(), rest);
      if (keyed) await publishKeyedJob(requireDb(), rest);
    },

    /** Older workflows send every chunk inline and no `recordPrefix`; both shapes are this one. */
    async writeBatchManifest(request: BatchManifestRequest): Promise<string> {
      const { outputPrefix, recordPrefix, ...summary } = request;
      const byIndex = new Map<number, BatchChunkResult>();
      for (const c of summary.chunks ?? []) byIndex.set(c.index, { index: c.index, rows: c.rows, uri: c.uri, sha256: c.sha256 });
      if (recordPrefix) {
        const keys: string[] = [];
        for await (const o of deps.store.list(`${recordPrefix}/`)) keys.push(o.key);
        for (let i = 0; i < keys.length; i += RECORD_READS) {
          const records = await Promise.all(keys.slice(i, i + RECORD_READS).map((k) => getJson<BatchChunkResult>(deps.store, k)));
          for (const r of records) byIndex.set(r.index, { index: r.index, rows: r.rows, uri: r.uri, sha256: r.sha256 });
          Context.current().heartbeat({ recordsRead: i + records.length });
        }
      }
      const chunks = [...byIndex.values()].sort((a, b) => a.index - b.index);
      // What the files say: a chunk can finish in the instant a cancel arrives, unseen by the workflow.
      const body: BatchManifest = { ...summary, rowsWritten: chunks.reduce((n, c) => n + c.rows, 0), chunks };
      return (await putJson(deps.store, `${outputPrefix}/manifest.json`, body)).uri;
    },
  };
}

/** Each scored row as the predict route answers it for the model's task (and version), by key. */
function keyedPredictions(io: ModelIO, rows: ScoredRows): KeyedRow[] {
  const keys = rows.keys ?? [];
  const units = io.head.units;
  return keys.map((key, i) => ({
    key,
    json: JSON.stringify({ ...predictionOf(io.task, rows.outputs, i * units), version: rows.modelVersion }),
  }));
}

/** A key column must exist and name each row once: a lookup by key must find one prediction. */
async function checkEntityKeys(datasetUri: string, from: string, present: ReadonlySet<string>, keyColumn: string): Promise<void> {
  if (!present.has(keyColumn))
    throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: `${datasetUri} has no key column ${JSON.stringify(keyColumn)}` });
  const key = sqlIdent(keyColumn);
  const [stats] = await withDuck((duck) =>
    duck.all<{ nulls: number; duplicates: number }>(
      `SELECT count(*) FILTER (WHERE ${key} IS NULL)::BIGINT AS nulls,
              (count(${key}) - count(DISTINCT CAST(${key} AS VARCHAR)))::BIGINT AS duplicates FROM ${from}`,
    ),
  );
  if (stats && (stats.nulls > 0 || stats.duplicates > 0))
    throw permanentFailure(FAILURE_TYPES.DataValidationFailed, {
      summary: `key column ${JSON.stringify(keyColumn)} of ${datasetUri} must be unique and non-null: ${stats.nulls} null, ${stats.duplicates} duplicate`,
    });
}

export type BatchActivities = ReturnType<typeof createBatchActivities>;
