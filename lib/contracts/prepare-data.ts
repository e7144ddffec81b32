// `prepareData` and its data activities (ingest → validate → profile → features): raw partitions
// in, a ready dataset version out.
import type { LabelSpec } from '../data/source-spec.ts';
import type { FeatureSpec } from '../features/tabular/spec.ts';
import type { Task, TaskKind } from '../tasks/task.ts';
import { workflowRef } from './workflow-ref.ts';

/** Input of `prepareData` (and its activities): raw partitions in, a ready dataset version out. */
export interface PrepareDataInput {
  dataset: string;
  /** Partitions to ingest: file:// or s3:// URIs of Parquet or CSV files. */
  sourceUris: string[];
  /** The validation spec, inline (the same JSON as a spec file). */
  validationSpec: Record<string, unknown>;
  /** Profile of the previous training data, for relative rules and histogram bins. */
  referenceProfileUri?: string;
  /** Time-split fractions. @default { train: 0.7, validation: 0.15 } */
  splits?: { train?: number; validation?: number };
  /** The model's feature spec (docs/features.md), parsed: fitted on the training split. Unset only
   * in inputs written before the feature language, which buildFeatures refuses with a clear error. */
  features?: FeatureSpec;
  /** What the model predicts. @default 'binary' */
  task?: TaskKind;
  /** The label: a column, or `{ expression }` in SQL over the row. */
  label?: LabelSpec;
  /** The time column: splits are time-ordered when set, a seeded hash of the row otherwise. */
  time?: string;
}

export interface IngestResult {
  datasetVersion: string;
  manifestUri: string;
  rows: number;
}

export interface ValidateDatasetResult {
  reportUri: string;
  summary: string;
  warnings: number;
}

export interface ProfileDatasetResult {
  profileUri: string;
  rows: number;
}

export interface SplitSummary {
  uri: string;
  rows: number;
  /** Rows with label 1 (binary); 0 for other tasks. */
  positives: number;
}

export interface BuildFeaturesResult {
  /** The fitted features (`flywheel.tabular-features/v1`, with the task and its classes). */
  featureSpecUri: string;
  featureSpecHash: string;
  /** The task with its fitted classes (multiclass); absent in results written before tasks. */
  task?: Task;
  splits: { train: SplitSummary; validation: SplitSummary; test: SplitSummary };
}

export interface PrepareDataResult {
  dataset: string;
  datasetVersion: string;
  manifestUri: string;
  rows: number;
  validation: ValidateDatasetResult;
  profileUri: string;
  features: BuildFeaturesResult;
}

export type PrepareDataWorkflow = (input: PrepareDataInput) => Promise<PrepareDataResult>;
export const prepareDataWorkflow = workflowRef<PrepareDataWorkflow>('prepareData');
