// What every worker's activities are built from (injected dependencies), and the trainers both
// queues register. Each worker kind lists its own set in workers/<kind>/activities.ts.
import { createCommandTrainingActivities } from '../../activities/training/command.ts';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { createImportActivities } from '../../activities/training/import.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import type { TfjsBackend } from '../../lib/training/backend.ts';
import { noPreemption, type Preemption } from '../../lib/training/preemption.ts';
import type { CheckpointWatch } from '../../lib/training/checkpoint-watch.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import type { Database } from '../../lib/db/index.ts';
import type { Client } from '@temporalio/client';
import type { ServingTarget } from '../../activities/rollout/index.ts';
import type { DriftCheckWatch } from '../../activities/monitor/index.ts';
import type { Logger } from '../../lib/log.ts';
import type { OnnxProvider } from '../../lib/onnx/providers.ts';

export interface ActivityDeps {
  identity: string;
  logger: Logger;
  store: ArtifactStore;
  /** Only the CPU worker opens the database. */
  db?: Database;
  /** How to reach S3 buckets other than the store's own. */
  s3?: S3StoreOptions;
  /** The model registry (CPU worker). */
  registry?: ModelRegistry;
  /** The spot notice (GPU workers). */
  preemption?: Preemption;
  trainingBackend?: TfjsBackend;
  /** Folders put first on a command trainer's PATH (FLYWHEEL_TRAINER_PATH). */
  trainerPath?: string;
  /** A workflow client (CPU worker: the lifecycle manages its Schedule), connected on first use. */
  temporalClient?: () => Promise<Client>;
  /** The inference server rollouts drive (CPU worker); read when a rollout needs it. */
  serving?: () => ServingTarget | undefined;
  /** Told of training runs' checkpoints (the worker's checkpoint-age gauge). */
  checkpointWatch?: CheckpointWatch;
  /** The worker's data folder (FLYWHEEL_DATA_DIR): the GitOps reconciler's git mirrors live under it. */
  dataDir?: string;
  /** Told of drift checks' results (the worker's drift-check counter; CPU worker). */
  driftCheckWatch?: DriftCheckWatch;
  /** ONNX Runtime providers batch scoring uses (FLYWHEEL_ONNX_PROVIDERS, selected at start-up; CPU worker). */
  onnxProviders?: readonly OnnxProvider[];
}

export function noClient(): Promise<Client> {
  return Promise.reject(new Error('this worker has no workflow client configured'));
}

/** The activities a worker registers, built from its dependencies. */
export type ActivitySet = (deps: ActivityDeps) => object;

/** The s3 option every data-reading group takes, when the worker has one. */
export function s3Option(deps: ActivityDeps): { s3?: S3StoreOptions } {
  return deps.s3 ? { s3: deps.s3 } : {};
}

/** Both queues can train: GPU jobs go to the GPU queue, jobs that declare no GPU to the CPU one. */
export function trainerActivities(deps: ActivityDeps) {
  const training = createTrainingActivities({
    store: deps.store,
    logger: deps.logger,
    identity: deps.identity,
    preemption: deps.preemption ?? noPreemption(),
    backend: deps.trainingBackend ?? 'auto',
    ...s3Option(deps),
    ...(deps.checkpointWatch ? { checkpointWatch: deps.checkpointWatch } : {}),
  });
  const command = createCommandTrainingActivities({
    store: deps.store,
    logger: deps.logger,
    identity: deps.identity,
    preemption: deps.preemption ?? noPreemption(),
    ...(deps.trainerPath ? { trainerPath: deps.trainerPath } : {}),
    ...s3Option(deps),
    ...(deps.checkpointWatch ? { checkpointWatch: deps.checkpointWatch } : {}),
  });
  const imports = createImportActivities({ store: deps.store, logger: deps.logger, identity: deps.identity, ...s3Option(deps) });
  return { ...training, ...command, ...imports };
}
