// What the CPU worker process registers. The CPU worker (flywheel-cpu, beside all workflows):
// system info, both trainers, and, given a registry, evaluation, batch and the control groups;
// then data. The control worker (flywheel-control) registers the control groups only: lifecycle
// (approvals, promotion, Schedule sync), rollout (routing, analysis, rollback), monitor (drift
// checks, ensureDriftMonitor) and registry. The CPU worker keeps them too, because workflows
// started before the control queue existed, or replaying old code, still schedule them on
// flywheel-cpu.
import { createFeatureTableActivities } from '../../activities/batch/features.ts';
import { createBatchActivities } from '../../activities/batch/index.ts';
import { createDataActivities } from '../../activities/data/index.ts';
import { createGitopsActivities } from '../../activities/gitops/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { createPromotionActivities } from '../../activities/promotion/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createRolloutActivities } from '../../activities/rollout/index.ts';
import { rolloutRunningVia } from '../../activities/rollout/orphans.ts';
import { createTrafficActivities } from '../../activities/traffic/index.ts';
import { createSystemActivities } from '../../activities/system/index.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { noClient, s3Option, trainerActivities, type ActivityDeps } from '../shared/activities.ts';

/** The short activities a workflow waits on to steer a model; each is a few registry, database,
 * serving or Temporal calls, never a scan of a dataset. */
function controlGroups(deps: ActivityDeps, registry: ModelRegistry): object {
  return {
    ...createRegistryActivities({ registry, logger: deps.logger, ...(deps.db ? { db: deps.db } : {}) }),
    ...createLifecycleActivities({ registry, logger: deps.logger, client: deps.temporalClient ?? noClient }),
    ...createPromotionActivities({ registry, logger: deps.logger }),
    ...(deps.db
      ? createRolloutActivities({
          db: deps.db,
          registry,
          store: deps.store,
          logger: deps.logger,
          serving: deps.serving ?? (() => undefined),
          ...(deps.temporalClient ? { rolloutRunning: rolloutRunningVia(deps.temporalClient) } : {}),
        })
      : {}),
    ...createMonitorActivities({
      store: deps.store,
      logger: deps.logger,
      registry,
      client: deps.temporalClient ?? noClient,
      ...(deps.db ? { db: deps.db } : {}),
      ...(deps.driftCheckWatch ? { driftCheckWatch: deps.driftCheckWatch } : {}),
    }),
  };
}

/** The control worker's activities (flywheel-control); none without a registry. */
export function controlActivities(deps: ActivityDeps): object {
  return deps.registry ? controlGroups(deps, deps.registry) : {};
}

export function cpuActivities(deps: ActivityDeps): object {
  const s3 = s3Option(deps);
  const system = createSystemActivities({ workerKind: 'cpu', identity: deps.identity });
  const withRegistry = deps.registry
    ? {
        // With the database, evaluation records each run (experiment tracking; lib/tracking).
        ...createEvaluationActivities({
          store: deps.store,
          logger: deps.logger,
          registry: deps.registry,
          ...(deps.db ? { db: deps.db } : {}),
          ...s3,
        }),
        ...controlGroups(deps, deps.registry),
        ...createBatchActivities({
          store: deps.store,
          logger: deps.logger,
          registry: deps.registry,
          ...(deps.db ? { db: deps.db } : {}),
          ...(deps.onnxProviders ? { executionProviders: deps.onnxProviders } : {}),
          ...s3,
        }),
      }
    : {};
  return {
    ...system,
    ...trainerActivities(deps),
    ...withRegistry,
    ...createDataActivities({ store: deps.store, logger: deps.logger, ...s3 }),
    // The GitOps reconciler (gitops/<env>): git fetches and lifecycle starts/Updates.
    ...(deps.dataDir
      ? createGitopsActivities({ dataDir: deps.dataDir, client: deps.temporalClient ?? noClient, store: deps.store, logger: deps.logger })
      : {}),
    // Labelled recent traffic as a training partition (`data.traffic`): a scan of the prediction log.
    ...(deps.db ? createTrafficActivities({ db: deps.db, store: deps.store, logger: deps.logger, ...s3 }) : {}),
    // Batch feature tables for the lambda read path (batchFeatures): a source loaded into the database.
    ...(deps.db ? createFeatureTableActivities({ db: deps.db, store: deps.store, logger: deps.logger, ...s3 }) : {}),
  };
}
