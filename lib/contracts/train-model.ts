// `trainModel` and the training activities it (or a command trainer) runs: one training run of one
// model on one dataset version, with checkpoints, heartbeats and preemption handling.
import type { MlpHyperparameters } from '../model-spec/model-spec.ts';
import type { Task, TaskKind } from '../tasks/task.ts';
import type { RunEpoch, RunSystemInfo } from '../tracking/types.ts';
import { workflowRef } from './workflow-ref.ts';

export type { MlpHyperparameters };

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
  /** Absent from results written before trainer kinds: the built-in TF.js MLP. */
  trainer?: 'tfjs-mlp';
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
  lineage: {
    datasetVersion: string;
    trainUri: string;
    validationUri: string;
    featureSpecUri: string;
    /** ModelIO.hash of the fitted features (also in the ONNX metadata). */
    featureSpecHash?: string;
    task?: TaskKind;
    hyperparameters: Record<string, unknown>;
  };
  /** What the model predicts, from its fitted features (classes for multiclass). Absent from
   * results written before tasks: binary. */
  task?: Task;
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
  /** Where the run trained (host, CPUs, memory, backend, GPUs), captured by the worker that
   * trained it; absent from results written before experiment tracking. */
  system?: RunSystemInfo;
  /** When the attempt that finished the run started (ISO); absent before experiment tracking. */
  startedAt?: string;
  /** When the spec asked for compression: what was distilled/pruned, the validation metric of the
   * teacher and the compressed model, and the gate that decided which one `modelUri` is. */
  compression?: CompressionReport & {
    gate: { metric: string; drop: number; maxDrop: number; passed: boolean; summary: string };
    applied: boolean;
  };
}

/** What compressing a trained MLP did (lib/training/tfjs/compress.ts), before its gate. */
export interface CompressionReport {
  /** What was applied, in order: `distill`, then `prune`. */
  steps: Array<'distill' | 'prune'>;
  teacher: { hidden: number[]; parameters: number };
  compressed: { hidden: number[]; parameters: number };
  /** Kernel weights that are zero or removed, as a fraction of the teacher's. */
  sparsity: number;
  /** Validation metric of each (binary ROC AUC, multiclass accuracy). */
  metric: string;
  teacherMetric: number;
  compressedMetric: number;
}

/** How `trainModel` trains, from the model spec's `trainer` (absent: the built-in TF.js MLP, as in
 * every history written before trainer kinds). */
export type TrainerJob =
  | {
      kind: 'command';
      command: string[];
      workingDir?: string;
      hyperparameters: Record<string, unknown>;
      env: { pass: string[]; set: Record<string, string> };
      killGraceMs: number;
    }
  | { kind: 'onnx'; modelUri: string };

export interface PreemptionPolicy {
  /** Preemptions tolerated before the run fails. @default 5 */
  maxPreemptions?: number;
  /** After this many preemptions, move to `onDemandQueue`. @default 2 */
  switchAfter?: number;
  /** An on-demand (non-spot) task queue to finish on. */
  onDemandQueue?: string;
}

/** Input of the `trainModel` workflow. */
export interface TrainModelInput extends Omit<TrainActivityInput, 'runKey'> {
  model: string;
  /** What the job needs; `gpu: true` routes it to the GPU queue. @default { gpu: true } */
  resources?: { gpu?: boolean; memoryMb?: number };
  preemption?: PreemptionPolicy;
  trainer?: TrainerJob;
}

/** The candidate a `command` or `onnx` trainer produced, after Flywheel checked and stamped it. */
export interface ExternalModelResult {
  trainer: 'command' | 'onnx';
  runKey: string;
  /** `<runKey>/model.onnx`: the checked model with Flywheel's metadata. */
  modelUri: string;
  featureSpecHash: string;
  lineage: TrainActivityResult['lineage'] & {
    /** The command's argv, or the imported file's URI and sha256. */
    command?: string[];
    sourceUri?: string;
    sourceSha256?: string;
  };
  task: Task;
  /** The command's `done` metrics (empty for an import). */
  metrics: Record<string, number>;
  /** Command: the checkpoint this attempt resumed from, if any. */
  resumedFrom: string | null;
  lastCheckpointUri: string | null;
  skippedCheckpoints: Array<{ uri: string; reason: string }>;
  /** Which worker finished the run. */
  identity: string;
  /** Where the run trained (host, CPUs, memory, backend, GPUs), captured by the worker that
   * trained it; absent from results written before experiment tracking. */
  system?: RunSystemInfo;
  /** When the attempt that finished the run started (ISO); absent before experiment tracking. */
  startedAt?: string;
  /** Command: the metrics its progress and checkpoint events reported, per epoch (the last value
   * of each metric in each epoch) in the attempt that finished the run. */
  epochs?: RunEpoch[];
}

/** Input of the `trainCommandModel` activity: trainModel's job for a `command` trainer. */
export interface CommandModelInput extends TrainActivityInput {
  trainer: Extract<TrainerJob, { kind: 'command' }>;
}

/** Input of the `importOnnxModel` activity. */
export interface ImportModelInput extends TrainActivityInput {
  modelUri: string;
}

export type TrainModelResult = (TrainActivityResult | ExternalModelResult) & {
  preemptions: number;
  taskQueues: string[];
};

/** Input of the `trainWithCommand` activity: an external trainer under the command protocol
 * (docs/command-trainer.md). */
export interface CommandTrainInput {
  runKey: string;
  /** argv of the training command, e.g. ["python3", "train.py"] (found on the worker's FLYWHEEL_TRAINER_PATH first). */
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
  /** Per-epoch metrics from the command's events with an `epoch` (absent before tracking). */
  epochs?: RunEpoch[];
}

export type TrainModelWorkflow = (input: TrainModelInput) => Promise<TrainModelResult>;
export const trainModelWorkflow = workflowRef<TrainModelWorkflow>('trainModel');
