// Types of the command-trainer protocol: what the runner is given, what it reports while the
// command runs, and what it resolves with. The protocol itself is in docs/command-trainer.md.
import type { Logger } from '../../log.ts';
import type { ArtifactStore } from '../../storage/types.ts';

/** Numeric metrics a trainer reports (`{"loss": 0.41, "val_auc": 0.7}`); non-numbers are dropped. */
export type TrainerMetrics = Record<string, number>;

/** A `progress` line from the command, passed on as soon as it is read. */
export interface TrainerProgressEvent {
  type: 'progress';
  epoch?: number;
  step?: number;
  metrics: TrainerMetrics;
}

/** A checkpoint the runner has stored: reported only after its manifest is written. */
export interface TrainerCheckpointEvent {
  type: 'checkpoint';
  step: number;
  epoch?: number;
  metrics: TrainerMetrics;
  /** URI prefix of the stored checkpoint; pass it as `resumeFrom` to continue from here. */
  checkpointUri: string;
}

/** The command's `done` line: training finished; the output is uploaded after the command exits. */
export interface TrainerDoneEvent {
  type: 'done';
  metrics: TrainerMetrics;
}

export type TrainerEvent = TrainerProgressEvent | TrainerCheckpointEvent | TrainerDoneEvent;

export interface CommandTrainerOptions {
  /** The program and its arguments (argv[0] is looked up on PATH; no shell is involved). */
  command: string[];
  /** Working directory of the command. @default process.cwd() */
  cwd?: string;
  /** Variables set for the command (the FLYWHEEL_* protocol variables win). The command never gets
   * the worker's whole environment: only BASE_ENV_NAMES (environment.ts), `passEnv` and these. */
  env?: Record<string, string>;
  /** Worker variables passed through to the command besides the basics. */
  passEnv?: readonly string[];
  /** Folders put first on the command's PATH (a venv's `bin`). */
  pathPrefix?: string;
  store: ArtifactStore;
  /** Key prefix of this training run in the store, e.g. `training/flights/run-abc`. Checkpoints go
   * to `<runKey>/checkpoints/…`, the final model files to `<runKey>/output/…`. */
  runKey: string;
  /** Input name → artifact URI (an object, or a prefix holding several objects). Each is downloaded
   * and its local path passed as `FLYWHEEL_INPUT_<NAME>` (name upper-snake-cased). */
  inputs: Record<string, string>;
  /** Passed to the command as JSON in `FLYWHEEL_HYPERPARAMETERS`. @default {} */
  hyperparameters?: Record<string, unknown>;
  /** URI prefix of a stored checkpoint (from `latestCheckpoint` or a checkpoint event). Its files
   * are verified, restored into a local folder and passed as `FLYWHEEL_RESUME_DIR`. */
  resumeFrom?: string;
  /** Aborting stops the command (SIGTERM to its process group, SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** Called for every event, in the order events become final (checkpoints once stored).
   * Must not throw; activities heartbeat from here. */
  onEvent?: (event: TrainerEvent) => void;
  /** How long the command may take to exit after SIGTERM before its group is SIGKILLed. @default 10000 */
  killGraceMs?: number;
  /** Stderr lines kept for the error message when the command fails. @default 50 */
  stderrTailLines?: number;
  /** Most recent events kept in the result (a long run prints many progress lines). @default 10000 */
  maxEventsKept?: number;
  /** Folder under which the private work folder is created (inputs, checkpoints, output).
   * @default os.tmpdir() */
  tempRoot?: string;
  /** Receives the command's log lines at debug level and the runner's own notes. */
  logger: Logger;
}

export interface CommandTrainerResult {
  /** URI prefix of the uploaded FLYWHEEL_OUTPUT_DIR (`<store>/<runKey>/output`). */
  outputUri: string;
  /** URIs of every uploaded output file, in key order. */
  outputFiles: string[];
  /** Metrics of the `done` event. */
  metrics: TrainerMetrics;
  /** The newest checkpoint stored during this run, if any. */
  lastCheckpointUri: string | undefined;
  /** Events in the order `onEvent` saw them (the most recent `maxEventsKept`). */
  events: TrainerEvent[];
}

/** `manifest.json` of a stored checkpoint: written last, so a checkpoint without it is incomplete. */
export interface CheckpointManifest {
  version: 1;
  step: number;
  epoch?: number;
  metrics: TrainerMetrics;
  createdAt: string;
  /** Paths relative to the checkpoint prefix, with the bytes they must hold. */
  files: { path: string; size: number; sha256: string }[];
}
