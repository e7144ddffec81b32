// `prepareData` and its data activities (ingest → validate → profile → features): raw partitions
// in, a ready dataset version out.
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
  positives: number;
}

export interface BuildFeaturesResult {
  featureSpecUri: string;
  featureSpecHash: string;
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
