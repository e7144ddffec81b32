// `batchPredict` and its batch activities: score a whole dataset with one registered model
// version, in chunks, continuing as new with the carried state; `progress` reads it live.
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
}

export interface BatchChunkResult {
  index: number;
  rows: number;
  uri: string;
  sha256: string;
}

export interface BatchPlan {
  rows: number;
  chunks: Array<{ index: number; start: number; end: number }>;
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

/** Carried across continue-as-new. */
export interface BatchPredictState {
  plan: BatchPlan;
  done: BatchChunkResult[];
  startedAt: string;
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
  chunks: BatchChunkResult[];
  startedAt: string;
  finishedAt: string;
  manifestUri?: string;
}

export const batchProgressQuery = defineQuery<BatchProgress>('progress');

export type BatchPredictWorkflow = (input: BatchPredictInput, state?: BatchPredictState) => Promise<BatchManifest>;
export const batchPredictWorkflow = workflowRef<BatchPredictWorkflow>('batchPredict');
