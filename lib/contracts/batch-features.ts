// `batchFeatures`: load per-entity features from a Parquet or CSV source into a published batch
// feature table (docs/batch-layer.md), which the inference server joins with request features by
// entity key. Chunks load under the job's id; the table's pointer flips to the job once all are in.
import { workflowRef } from './workflow-ref.ts';

/** Input of `batchFeatures`. */
export interface BatchFeaturesInput {
  /** Parquet or CSV source (file:// or s3://); one row per entity. */
  sourceUri: string;
  /** The feature table's name. The server joins a model with the table of the model's name unless
   * FLYWHEEL_SERVE_BATCH_FEATURE_TABLES maps it to another. */
  table: string;
  /** The entity key column: unique and non-null (the job fails at planning otherwise). */
  keyColumn: string;
  /** Columns to keep. @default every column but the key */
  columns?: string[];
  /** @default 100000 */
  chunkRows?: number;
  /** Chunks in flight at once. @default 2 */
  maxParallel?: number;
}

/** A source column as the table stores it: timestamps and dates become ISO 8601 text (the form a
 * predict request sends), everything else its JSON value. */
export interface FeatureColumnPlan {
  name: string;
  type: string;
}

export interface BatchFeaturesPlan {
  rows: number;
  chunkRows: number;
  columns: FeatureColumnPlan[];
}

export interface BatchFeaturesResult {
  jobId: string;
  table: string;
  rows: number;
  columns: string[];
  publishedAt: string;
}

export type BatchFeaturesWorkflow = (input: BatchFeaturesInput) => Promise<BatchFeaturesResult>;
export const batchFeaturesWorkflow = workflowRef<BatchFeaturesWorkflow>('batchFeatures');
