// What the CPU worker registers (beside all workflows): system info, both trainers, and, given a
// registry, evaluation, registration, lifecycle, rollout, batch and drift monitoring; then data.
import { createBatchActivities } from '../../activities/batch/index.ts';
import { createDataActivities } from '../../activities/data/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createRolloutActivities } from '../../activities/rollout/index.ts';
import { createSystemActivities } from '../../activities/system/index.ts';
import { noClient, s3Option, trainerActivities, type ActivityDeps } from '../shared/activities.ts';

export function cpuActivities(deps: ActivityDeps): object {
  const s3 = s3Option(deps);
  const system = createSystemActivities({ workerKind: 'cpu', identity: deps.identity });
  const withRegistry = deps.registry
    ? {
        ...createEvaluationActivities({ store: deps.store, logger: deps.logger, registry: deps.registry, ...s3 }),
        ...createRegistryActivities({ registry: deps.registry, logger: deps.logger }),
        ...createLifecycleActivities({ registry: deps.registry, logger: deps.logger, client: deps.temporalClient ?? noClient }),
        ...(deps.db
          ? createRolloutActivities({
              db: deps.db,
              registry: deps.registry,
              store: deps.store,
              logger: deps.logger,
              serving: deps.serving ?? (() => undefined),
            })
          : {}),
        ...createBatchActivities({
          store: deps.store,
          logger: deps.logger,
          registry: deps.registry,
          ...(deps.db ? { db: deps.db } : {}),
          ...s3,
        }),
        ...createMonitorActivities({
          store: deps.store,
          logger: deps.logger,
          registry: deps.registry,
          client: deps.temporalClient ?? noClient,
          ...(deps.db ? { db: deps.db } : {}),
        }),
      }
    : {};
  return {
    ...system,
    ...trainerActivities(deps),
    ...withRegistry,
    ...createDataActivities({ store: deps.store, logger: deps.logger, ...s3 }),
  };
}
