// The activity set each worker kind registers, built from injected dependencies. Later
// capabilities add their groups here (data/evaluation/registry on cpu, training on gpu).
import { createDataActivities } from '../../activities/data/index.ts';
import { createSystemActivities } from '../../activities/system/index.ts';
import type { ArtifactStore, S3StoreOptions } from '../storage/index.ts';
import type { Database } from '../db/index.ts';
import type { Logger } from '../log.ts';
import type { WorkerKind } from '../temporal/constants.ts';

export interface ActivityDeps {
  identity: string;
  logger: Logger;
  store: ArtifactStore;
  /** Only the CPU worker opens the database. */
  db?: Database;
  /** How to reach S3 buckets other than the store's own. */
  s3?: S3StoreOptions;
}

export function activitiesFor(kind: WorkerKind, deps: ActivityDeps): object {
  const system = createSystemActivities({ workerKind: kind, identity: deps.identity });
  if (kind === 'gpu') return system;
  return {
    ...system,
    ...createDataActivities({ store: deps.store, logger: deps.logger, ...(deps.s3 ? { s3: deps.s3 } : {}) }),
  };
}
