// The command-trainer protocol: run any external training command (a PyTorch script, say) as a
// child process, with checkpoints in the artifact store. See docs/command-trainer.md.
export { runCommandTrainer } from './run.ts';
export { BASE_ENV_NAMES, commandEnvironment, type CommandEnvOptions } from './environment.ts';
export { latestCheckpoint, readCheckpointManifest, type CheckpointSearch, type SkippedCheckpoint } from './checkpoint-dirs.ts';
export { TrainerCommandError, TrainerExitError, TrainerProtocolError } from './errors.ts';
export { TRAINER_ENV, upperSnake } from './protocol.ts';
export type {
  CommandTrainerOptions,
  CommandTrainerResult,
  CheckpointManifest,
  TrainerEvent,
  TrainerProgressEvent,
  TrainerCheckpointEvent,
  TrainerDoneEvent,
  TrainerMetrics,
} from './types.ts';
