// The activity set each worker kind registers, built from injected dependencies. Later
// capabilities add their groups here (data/evaluation/registry on cpu, training on gpu).
import { createBatchActivities } from '../../activities/batch/index.ts';
import { createDataActivities } from '../../activities/data/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { createSystemActivities } from '../../activities/system/index.ts';
import { createCommandTrainingActivities } from '../../activities/training/command.ts';
import { createTrainingActivities } from '../../activities/training/index.ts';
import type { TfjsBackend } from '../../lib/training/backend.ts';
import { noPreemption, type Preemption } from '../../lib/training/preemption.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import type { Database } from '../../lib/db/index.ts';
import type { Client } from '@temporalio/client';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createRolloutActivities, type ServingTarget } from '../../activities/rollout/index.ts';
import type { Logger } from '../../lib/log.ts';
import type { WorkerKind } from '../../lib/temporal/constants.ts';

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
  /** A workflow client (CPU worker: the lifecycle manages its Schedule), connected on first use. */
  temporalClient?: () => Promise<Client>;
  /** The inference server rollouts drive (CPU worker); read when a rollout needs it. */
  serving?: () => ServingTarget | undefined;
}

function noClient(): Promise<Client> {
  return Promise.reject(new Error('this worker has no workflow client configured'));
}

export function activitiesFor(kind: WorkerKind, deps: ActivityDeps): object {
  const s3 = deps.s3 ? { s3: deps.s3 } : {};
  const system = createSystemActivities({ workerKind: kind, identity: deps.identity });
  // Both queues can train: GPU jobs go to the GPU queue, jobs that declare no GPU to the CPU one.
  const training = createTrainingActivities({
    store: deps.store,
    logger: deps.logger,
    identity: deps.identity,
    preemption: deps.preemption ?? noPreemption(),
    backend: deps.trainingBackend ?? 'auto',
    ...s3,
  });
  const command = createCommandTrainingActivities({ store: deps.store, logger: deps.logger, identity: deps.identity, preemption: deps.preemption ?? noPreemption() });
  if (kind === 'gpu') return { ...system, ...training, ...command };
  const withRegistry = deps.registry
    ? {
        ...createEvaluationActivities({ store: deps.store, logger: deps.logger, registry: deps.registry, ...s3 }),
        ...createRegistryActivities({ registry: deps.registry, logger: deps.logger }),
        ...createLifecycleActivities({ registry: deps.registry, logger: deps.logger, client: deps.temporalClient ?? noClient }),
        ...(deps.db ? createRolloutActivities({ db: deps.db, registry: deps.registry, store: deps.store, logger: deps.logger, serving: deps.serving ?? (() => undefined) }) : {}),
        ...createBatchActivities({ store: deps.store, logger: deps.logger, registry: deps.registry, ...(deps.db ? { db: deps.db } : {}), ...s3 }),
        ...createMonitorActivities({ store: deps.store, logger: deps.logger, registry: deps.registry, client: deps.temporalClient ?? noClient, ...(deps.db ? { db: deps.db } : {}) }),
      }
    : {};
  return { ...system, ...training, ...command, ...withRegistry, ...createDataActivities({ store: deps.store, logger: deps.logger, ...s3 }) };
}
