// `modelCycle`: one training cycle of one model, a child of its `modelLifecycle` (prepare → train
// → evaluate → register → approval → rollout/promote), and the evaluation and registration
// activities it runs. The lifecycle tells a waiting cycle its approval decision by a signal.
import { defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { RolloutResult } from './rollout.ts';
import type { VariantGate } from '../evaluation/variant-gate.ts';
import type { RunEpoch, RunSystemInfo } from '../tracking/types.ts';
import { workflowRef } from './workflow-ref.ts';

export type TriggerKind = 'new-data' | 'retrain' | 'schedule' | 'drift';

export interface CycleTrigger {
  kind: TriggerKind;
  eventId: string;
  detail: string;
  at: string;
}

export interface ApprovalOutcome {
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  /** Nobody decided before the deadline; the spec's default applied. */
  timedOut: boolean;
}

export type CycleStage =
  | 'prepare'
  | 'train'
  | 'evaluate'
  | 'register'
  | 'approval'
  | 'rollout'
  | 'promote'
  | 'promoted'
  | 'rejected'
  | 'rolled-back'
  | 'validation-failed'
  | 'gates-failed'
  | 'failed'
  /** A drift- or schedule-triggered cycle whose data is the champion's: nothing new to train on. */
  | 'skipped';

/** Input of `modelCycle`, the child workflow of one training cycle. */
export interface ModelCycleInput {
  /** The model spec (lib/model-spec/model-spec.ts), as JSON. */
  spec: ModelSpec;
  cycle: number;
  partitions: Array<{ partition: string; uris: string[] }>;
  triggers: CycleTrigger[];
  /** The lifecycle workflow to report approval requests to. */
  lifecycleWorkflowId: string;
  /** Profile of the champion's training data, for relative validation rules. */
  referenceProfileUri?: string;
  /**
   * Which incarnation of the lifecycle started the cycle (its first run's id, shortened). Run
   * keys and child ids include it, so a lifecycle re-created on the same data never reuses the
   * keys of an earlier one. Absent in cycles started before incarnations existed.
   */
  incarnation?: string;
}

export interface ModelCycleResult {
  cycle: number;
  stage: CycleStage;
  datasetVersion: string;
  profileUri: string;
  /** The version the cycle registered; for a skipped cycle, the champion it left serving. */
  version: number;
  metrics: Record<string, number>;
  reportUri: string;
  /** Absent when the cycle was skipped (nothing was trained, nobody was asked). */
  approval?: ApprovalOutcome;
  promoted: boolean;
  /** Set when the version went through a progressive rollout. */
  rollout?: RolloutResult;
  /** Why the cycle ended where it did, when that needs words (e.g. "skipped: no new data since v3"). */
  detail?: string;
  /** The drift monitor could not be started after a successful promotion (the cycle still succeeded). */
  monitorError?: string;
}

/** Input of `championLineage`. */
export interface ChampionLineageInput {
  model: string;
}

/** The champion and the dataset version it was trained on; null from the activity when there is none. */
export interface ChampionLineage {
  version: number;
  datasetVersion: string;
}

/** Input of `evaluateCandidate`: the candidate and the champion scored on the same test rows. */
export interface EvaluateCandidateInput {
  model: string;
  runKey: string;
  modelUri: string;
  featureSpecUri: string;
  testUri: string;
  validationUri: string;
  /** Quality gates (see README); `{}` checks nothing but still reports. */
  gates?: Record<string, unknown>;
  limitRows?: number;
  /** Builds of the candidate scored on the same rows and gated against it (the int8 model). */
  variants?: { int8?: { modelUri: string; maxMetricDrop: number } };
  /** The training run, as evaluateCandidate records it (lib/tracking) with its evaluation. Absent
   * from inputs written before experiment tracking: then nothing is recorded. */
  run?: TrainingRunInput;
}

/** What the training result says about the run, for the experiment-tracking record. */
export interface TrainingRunInput {
  datasetVersion: string;
  /** tfjs-mlp, command or onnx. */
  trainer: string;
  /** Hyperparameters and trainer settings as the run used them. */
  params: Record<string, unknown>;
  epochs: RunEpoch[];
  /** Absent when the trainer's worker predates tracking. */
  system?: RunSystemInfo;
  /** Named artifact URIs from training (model, int8Model, weights, featureSpec, checkpoint, data). */
  artifacts: Record<string, string>;
  /** Training-side numbers (best validation loss, epochs run, a command's `done` metrics), recorded
   * as `train.<name>` metrics beside the test-set ones. */
  trainingMetrics: Record<string, number>;
  startedAt?: string;
}

export interface EvaluateCandidateResult {
  summary: string;
  passed: true;
  gateReportUri: string;
  reportUri: string;
  metricsUri: string;
  /** Per task (summarizeMetrics in activities/evaluation): binary rocAuc, prAuc, logLoss, brier, ece,
   * threshold, precision, recall, f1; multiclass accuracy, macroF1, logLoss, topKAccuracy, topK,
   * classes; regression rmse, mae, r2, targetMean. */
  metrics: Record<string, number>;
  worstSlice: string | null;
  /** The champion scored on the same rows; `rocAuc` for a binary one, `metrics` (same keys as
   * `metrics`) for the other tasks. null when there is none or it could not be compared (`notes`). */
  champion: { version: number; rocAuc?: number; metrics?: Record<string, number> } | null;
  sizeBytes: number;
  /** The candidate's task; absent from results written before tasks (binary). */
  task?: 'binary' | 'multiclass' | 'regression';
  /** Why a champion was not compared (another task, other classes, unreadable features). */
  notes?: string[];
  /** Each variant scored: its gate against the fp32 candidate and its size. */
  variants?: { int8?: VariantResult };
}

export interface VariantResult extends VariantGate {
  modelUri: string;
  sizeBytes: number;
  /** The variant's test metrics (same keys as the candidate's). */
  metrics: Record<string, number>;
}

export interface RegisterCandidateInput {
  model: string;
  runKey: string;
  modelUri: string;
  featureSpecUri: string;
  lineage: { datasetVersion: string; featureSpecHash: string; codeRevision?: string; params: Record<string, unknown> };
  metrics: Record<string, number>;
  gateReportUri: string;
  reportUri: string;
  summary: string;
  /** Variants registered with the version (tags `flywheel.variant.<name>.*`). */
  variants?: { int8?: VariantResult };
  /** Which build the version serves: its artifact. @default 'fp32' */
  servedVariant?: 'fp32' | 'int8';
}

// Internal: lifecycle → cycle.
export const approvalDecisionSignal = defineSignal<[ApprovalOutcome]>('approvalDecision');
/** What `approvalDecision` must carry: anything else (no input, `{}`, junk from the CLI) is
 * ignored and logged by the cycle instead of deciding its approval. */
export const approvalOutcomeSchema = z.object({
  decision: z.enum(['approved', 'rejected']),
  actor: z.string(),
  reason: z.string(),
  timedOut: z.boolean(),
});

export type ModelCycleWorkflow = (input: ModelCycleInput) => Promise<ModelCycleResult>;
export const modelCycleWorkflow = workflowRef<ModelCycleWorkflow>('modelCycle');
