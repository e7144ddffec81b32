// Workflow and activity inputs/outputs: plain JSON objects with named types, so the SDK, the
// `temporal` CLI (`--input '{...}'`) and the Web UI all speak the same shapes.
import type { ModelSpec } from './model-spec/model-spec.ts';

/** Input of `routingCheck`: nothing required; `note` is echoed for tracing. */
export interface RoutingCheckInput {
  note?: string;
}

/** What a worker says about itself when a probe activity runs on it. */
export interface WorkerProbe {
  workerKind: 'cpu' | 'gpu';
  taskQueue: string;
  identity: string;
  hostname: string;
  pid: number;
  /** The activity attempt that answered (1 unless retried). */
  attempt: number;
}

export interface RoutingCheckResult {
  cpu: WorkerProbe;
  gpu: WorkerProbe;
}

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

/** Hyperparameters of the built-in TF.js MLP trainer (every field optional; see README). */
export interface MlpHyperparameters {
  hidden?: number[];
  dropout?: number;
  l2?: number;
  learningRate?: number;
  batchSize?: number;
  epochs?: number;
  patience?: number;
  seed?: number;
  classWeight?: 'balanced' | 'none';
}

export interface CheckpointPolicy {
  /** Checkpoint every N steps. @default 200 */
  everySteps?: number;
  /** …or every N milliseconds, whichever comes first. @default 30000 */
  everyMs?: number;
}

/** Input of the `trainFlightsMlp` activity. */
export interface TrainActivityInput {
  /** Artifact prefix of this training run (checkpoints, model); stable across retries. */
  runKey: string;
  trainUri: string;
  validationUri: string;
  featureSpecUri: string;
  datasetVersion: string;
  hyperparameters?: MlpHyperparameters;
  checkpoint?: CheckpointPolicy;
  /** Use only the first N rows of each split (tests, quick runs). */
  limitRows?: number;
}

/** What a training heartbeat carries (and what a retry resumes from). */
export interface TrainHeartbeat {
  checkpointUri?: string;
  epoch: number;
  step: number;
  metrics: Record<string, number>;
}

export interface TrainActivityResult {
  runKey: string;
  /** Final weights (best validation loss) as a checkpoint in the artifact store. */
  weightsUri: string;
  /** The fp32 ONNX model (opset 17; feature-spec hash and dataset version in its metadata). */
  modelUri: string;
  /** The int8 static-QDQ variant, calibrated on training rows. */
  int8ModelUri: string;
  featureSpecHash: string;
  /** Max |ONNX Runtime − TF.js| over up to 10,000 validation rows, per model. */
  parity: { rows: number; maxAbsDiff: number; int8MaxAbsDiff: number };
  lineage: { datasetVersion: string; trainUri: string; validationUri: string; featureSpecUri: string; hyperparameters: Record<string, unknown> };
  backend: string;
  bestValLoss: number;
  epochsRun: number;
  stoppedEarly: boolean;
  globalStep: number;
  history: Array<{ epoch: number; loss: number; valLoss: number }>;
  resumedFrom: { checkpointUri: string; epoch: number; globalStep: number } | null;
  skippedCheckpoints: Array<{ uri: string; reason: string }>;
  /** Which worker finished the run. */
  identity: string;
}

/** Input of the `trainModel` workflow. */
export interface TrainModelInput extends Omit<TrainActivityInput, 'runKey'> {
  model: string;
  /** What the job needs; `gpu: true` routes it to the GPU queue. @default { gpu: true } */
  resources?: { gpu?: boolean; memoryMb?: number };
  preemption?: {
    /** Preemptions tolerated before the run fails. @default 5 */
    maxPreemptions?: number;
    /** After this many preemptions, move to `onDemandQueue`. @default 2 */
    switchAfter?: number;
    /** An on-demand (non-spot) task queue to finish on. */
    onDemandQueue?: string;
  };
}

export interface TrainModelResult extends TrainActivityResult {
  preemptions: number;
  taskQueues: string[];
}

/** Input of the `trainWithCommand` activity: an external trainer under the command protocol
 * (docs/command-trainer.md). */
export interface CommandTrainInput {
  runKey: string;
  /** argv of the training command, e.g. ["python3", "examples/pytorch/train.py"]. */
  command: string[];
  /** Input name → artifact URI (each becomes FLYWHEEL_INPUT_<NAME>). */
  inputs: Record<string, string>;
  hyperparameters?: Record<string, unknown>;
  /** @default 10000 */
  killGraceMs?: number;
}

export interface CommandTrainResult {
  runKey: string;
  outputUri: string;
  outputFiles: string[];
  metrics: Record<string, number>;
  lastCheckpointUri: string | null;
  resumedFrom: string | null;
  skippedCheckpoints: Array<{ uri: string; reason: string }>;
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
}

export interface EvaluateCandidateResult {
  summary: string;
  passed: true;
  gateReportUri: string;
  reportUri: string;
  metricsUri: string;
  metrics: Record<string, number>;
  worstSlice: string | null;
  champion: { version: number; rocAuc: number } | null;
  sizeBytes: number;
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
}

/** Input of `batchPredict`: score a whole dataset with one registered model version. */
export interface BatchPredictInput {
  /** Parquet dataset (file:// or s3://) with the flights columns. */
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
  model: { name: string; version: number; artifactUri: string; featureSpecUri: string };
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

/** One flight as raw fields, as a prediction request carries it (see lib/features/flights.ts). */
export interface InferenceInstance {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** Input of `inferenceJob`: an async prediction request accepted by the inference server. */
export interface InferenceJobInput {
  model: string;
  instances: InferenceInstance[];
  routingKey?: string;
  /** POSTed `{ jobId, status, result | error }` when the job ends. */
  webhookUrl?: string;
}

export interface InferenceJobPredictions {
  requestId: string;
  model: string;
  predictions: Array<{ probability: number; version: number }>;
}

export interface InferenceJobResult extends InferenceJobPredictions {
  completedAt: string;
  webhook?: { delivered: boolean; error?: string };
}

// ─── The model lifecycle ────────────────────────────────────────────────────────────────────

/** A dataset partition (e.g. a month of flights) announced by a data-arrival event. */
export interface DataArrivedSignal {
  /** Stable across repeats of the same data: the same event twice starts one cycle. */
  eventId: string;
  dataset: string;
  partition: string;
  uris: string[];
  /** false: record the partition for the next cycle without starting one (drift, the Schedule or
   * a person decides when to retrain). @default true */
  retrain?: boolean;
}

export interface RetrainSignal {
  reason: string;
  requestedBy?: string;
  /** De-duplication key (schedules use their run id). */
  eventId?: string;
}

export interface DriftSignal {
  eventId: string;
  summary: string;
  reportUri?: string;
}

export type TriggerKind = 'new-data' | 'retrain' | 'schedule' | 'drift';

export interface CycleTrigger {
  kind: TriggerKind;
  eventId: string;
  detail: string;
  at: string;
}

/** What `approve`/`reject` Updates carry: who decided and why (recorded in the registry). */
export interface ApprovalDecisionInput {
  actor: string;
  reason: string;
}

export interface ApprovalRequest {
  cycle: number;
  cycleWorkflowId: string;
  version: number;
  requestedAt: string;
  /** When the default decision applies. */
  deadline: string;
  default: 'approve' | 'reject';
  metrics: Record<string, number>;
}

export interface ApprovalOutcome {
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  /** Nobody decided before the deadline; the spec's default applied. */
  timedOut: boolean;
}

export type CycleStage = 'prepare' | 'train' | 'evaluate' | 'register' | 'approval' | 'rollout' | 'promote' | 'promoted' | 'rejected' | 'rolled-back' | 'validation-failed' | 'gates-failed' | 'failed';

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
}

export interface ModelCycleResult {
  cycle: number;
  stage: CycleStage;
  datasetVersion: string;
  profileUri: string;
  version: number;
  metrics: Record<string, number>;
  reportUri: string;
  approval: ApprovalOutcome;
  promoted: boolean;
  /** Set when the version went through a progressive rollout. */
  rollout?: RolloutResult;
}

/** How a `rollout` ended. */
export interface RolloutResult {
  /** `skipped`: nothing to compare with (no champion yet) or no steps; promoted directly. */
  outcome: 'completed' | 'rolled-back' | 'skipped';
  model: string;
  challenger: number;
  /** The champion after the rollout. */
  champion: number | null;
  reason: string;
  evidenceUri?: string;
}

export interface CycleSummary {
  cycle: number;
  workflowId: string;
  stage: CycleStage;
  startedAt: string;
  endedAt?: string;
  triggers: CycleTrigger[];
  version?: number;
  datasetVersion?: string;
  metrics?: Record<string, number>;
  error?: string;
}

/** Live progress a cycle reports to its lifecycle (shown by `flywheel pipeline status`). */
export interface CycleProgress {
  cycle: number;
  stage: CycleStage;
  detail?: string;
  version?: number;
}

/** What `modelLifecycle` carries across continue-as-new. */
export interface LifecycleCarryOver {
  cycles: number;
  partitions: Array<{ partition: string; uris: string[]; eventId: string }>;
  pending: CycleTrigger[];
  seenEventIds: string[];
  history: CycleSummary[];
  lastAutomaticCycleEndedAt?: string;
  championProfileUri?: string;
}

/** The `status` Query of `modelLifecycle`. */
export interface LifecycleStatus {
  model: string;
  state: 'idle' | 'cooldown' | 'running' | 'awaiting-approval';
  current: (CycleSummary & { detail?: string }) | null;
  pendingApproval: ApprovalRequest | null;
  pendingTriggers: CycleTrigger[];
  partitions: string[];
  /** The newest cycles, oldest first (at most 20). */
  history: CycleSummary[];
  cycles: number;
  cooldownUntil: string | null;
}
