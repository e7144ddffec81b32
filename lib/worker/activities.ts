// The activity set each worker kind registers, built from injected dependencies. Later
// capabilities add their groups here (data/evaluation/registry on cpu, training on gpu).
import { createSystemActivities } from '../../activities/system/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import type { Database } from '../db/index.ts';
import type { Logger } from '../log.ts';
import type { WorkerKind } from '../temporal/constants.ts';

export interface ActivityDeps {
  identity: string;
  logger: Logger;
  store: ArtifactStore;
  /** Only the CPU worker opens the database. */
  db?: Database;
}

export function activitiesFor(kind: WorkerKind, deps: ActivityDeps): object {
  return { ...createSystemActivities({ workerKind: kind, identity: deps.identity }) };
}
