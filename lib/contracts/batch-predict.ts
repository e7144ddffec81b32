// `batchPredict` and its batch activities: score a whole dataset with one registered model
// version, in chunks, continuing as new with the carried state; `progress` reads it live. The
// state, the plan and the result stay the same size however many chunks a job has: chunks are
// computed from the plan, and each chunk's result is a record in the store the manifest lists.
import { defineQuery } from '@temporalio/workflow';
import { workflowRef } from './workflow-ref.ts';

/** Input of `batchPredict`: score a whole dataset with one registered model version. */
export interface BatchPredictInput {
  /** Parquet dataset (file:// or s3://) holding the model's input columns (others are ignored). */
  datasetUri: string;
  /** Model name plus an alias (default champion) or an exact version. */
  model: { name: string; alias?: string; version?: number };
  /** Artifact-store key prefix for the outputs, e.g. `batch/flights/2001-q1`. */
  outputPrefix: string;
  /** @default 250000 */
  chunkRows?: number;
  /** Chunks in flight at once (the sliding window). @default 4 */
  maxParallel?: number;
  /** Completed chunks per workflow run before continue-as-new. @default 200 */
  chunksPerRun?: number;
  /** Also bulk-load predictions into `batch_predictions` and publish them when complete. @default false */
  writeTable?: boolean;
  /**
   * The lambda read path (docs/batch-layer.md): load each row's prediction, keyed by this column's
   * value (as text; unique and non-null in the dataset, or the job fails at planning), into
   * `batch_keyed_predictions`, and publish the job for `GET /v1/models/:name/batch/:key` when
   * complete. Independent of `writeTable`.
   */
  keyColumn?: string;
}

export interface BatchChunkResult {
  index: number;
  rows: number;
  uri: string;
  sha256: string;
}

/** What `scoreBatchChunk` returns: `recorded` when it also wrote its record to the store (the
 * manifest lists records; results without one are carried until the manifest is written). */
export type ScoredChunk = BatchChunkResult & { recorded?: boolean };

export interface BatchPlan {
  rows: number;
  /** Rows per chunk: chunk i covers rows [i·chunkRows, min(rows, (i+1)·chunkRows)). */
  chunkRows?: number;
  /** The chunk list, in plans made before `chunkRows` (O(chunks) in every carried state). */
  chunks?: Array<{ index: number; start: number; end: number }>;
  model: {
    name: string;
    version: number;
    artifactUri: string;
    featureSpecUri: string;
    /** The version's task; absent from plans made before tasks (binary). */
    task?: 'binary' | 'multiclass' | 'regression';
    /** Prediction columns each output file holds between `row_number` and `model_version`:
     * binary `probability`; multiclass `class`, `probability`, `p_<class>`…; regression `value`. */
    outputColumns?: string[];
  };
}

/** Carried across continue-as-new: counters and the next chunk, not the chunks' results. */
export interface BatchPredictState {
  plan: BatchPlan;
  startedAt: string;
  /** Every chunk below it is finished (the workflow continues as new with none in flight). */
  nextChunk?: number;
  chunksDone?: number;
  rowsDone?: number;
  /** Finished chunks without a record in the store: the whole list in states carried before
   * records, else only chunks scored by an activity from before them (a rolling upgrade). */
  done?: BatchChunkResult[];
}

export interface BatchProgress {
  status: 'running' | 'completed' | 'cancelled';
  rowsTotal: number;
  rowsDone: number;
  chunksTotal: number;
  chunksDone: number;
  inFlight: number;
  startedAt: string;
  modelVersion: number;
}

export interface BatchManifest {
  status: 'completed' | 'cancelled';
  datasetUri: string;
  model: { name: string; version: number; artifactUri: string };
  rowsTotal: number;
  rowsWritten: number;
  chunksTotal: number;
  /** Every finished chunk, in the manifest file. The workflow's result omits it (it would grow
   * with the job past Temporal's payload limit); jobs that completed before carry it there too. */
  chunks?: BatchChunkResult[];
  startedAt: string;
  finishedAt: string;
  manifestUri?: string;
}

/** `writeBatchManifest`'s input: the summary, where the chunk records are, and the finished
 * chunks that have none (carried inline). */
export interface BatchManifestRequest extends Omit<BatchManifest, 'chunks' | 'manifestUri'> {
  outputPrefix: string;
  /** Store prefix of this job's chunk records; absent: only `chunks` are listed. */
  recordPrefix?: string;
  chunks?: BatchChunkResult[];
}

export const batchProgressQuery = defineQuery<BatchProgress>('progress');

export type BatchPredictWorkflow = (input: BatchPredictInput, state?: BatchPredictState) => Promise<BatchManifest>;
export const batchPredictWorkflow = workflowRef<BatchPredictWorkflow>('batchPredict');
