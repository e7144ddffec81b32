// Experiment tracking: one record per training run (parameters, per-epoch metrics, system info,
// artifacts, evaluation), kept in Flywheel's database (`training_runs`) and, when the MLflow
// backend is configured, mirrored as an MLflow run. The drift monitor's checks are kept beside
// them (`monitor_checks`) so the console and the CLI can show them over time.
import type { DriftCheckSummary } from '../contracts/drift-monitor.ts';

/** How a run ended as far as Flywheel knows: `passed`/`failed` are the quality gates' verdict. */
export type RunStatus = 'passed' | 'failed';

/** Where and on what a run trained (from the worker that finished it). */
export interface RunSystemInfo {
  /** The worker's identity (`FLYWHEEL_WORKER_IDENTITY`, else host@pid). */
  identity: string;
  hostname: string;
  platform: string;
  arch: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  /** The training backend (tfjs-node, wasm, cpu, command, onnx …). */
  backend: string;
  /** GPU name(s) when the worker saw one, else absent. */
  gpus?: string[];
}

export interface RunEpoch {
  epoch: number;
  /** Every metric that epoch reported (loss, valLoss, …). */
  metrics: Record<string, number>;
}

export interface TrainingRunRecord {
  /** The training run's key (the registry's `runId`): unique per run. */
  runId: string;
  model: string;
  datasetVersion: string;
  /** The trainer kind: tfjs-mlp, command, onnx. */
  trainer: string;
  status: RunStatus;
  /** Hyperparameters and trainer settings as the run used them. */
  params: Record<string, unknown>;
  /** Test-set metrics from evaluation (task-specific keys). */
  metrics: Record<string, number>;
  epochs: RunEpoch[];
  system: RunSystemInfo | null;
  /** Named artifact URIs: model, int8Model, weights, featureSpec, gateReport, report, metrics … */
  artifacts: Record<string, string>;
  /** The gates' one-line summary (why it passed or failed). */
  summary: string;
  /** The registry version this run became, once registered. */
  version: number | null;
  /** The MLflow run id, when mirrored to MLflow. */
  mlflowRunId: string | null;
  startedAt: string | null;
  recordedAt: string;
}

/** One drift-monitor check as stored (`monitor_checks`). */
export interface MonitorCheckRecord extends DriftCheckSummary {
  model: string;
}
