// Worker Deployment Versioning (docs/safe-evolution.md): which workflow types stay on the build
// that started them (PINNED) and which move to the current build at their next task
// (AUTO_UPGRADE), and the worker options that opt a workflow worker in. Safe in workflow code:
// the imports below are types only.
import type { VersioningBehavior } from '@temporalio/common';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

/**
 * One behaviour per workflow type the CPU worker runs (a test checks every export of
 * workflows/index.ts has one). Runs that end on their own (a cycle, a rollout, a job) are pinned:
 * they finish on the code that started them, so a new build never meets their half-written history
 * and needs no patch for them. The entity workflows (the lifecycle, the monitor) live for months and
 * continue as new; they move to each new build, which is why every change to their command sequence
 * stays behind `patched()` and is replayed against recorded histories (tests/fixtures/histories).
 */
export const WORKFLOW_VERSIONING_BEHAVIORS = {
  modelLifecycle: 'AUTO_UPGRADE',
  driftMonitor: 'AUTO_UPGRADE',
  gitopsReconciler: 'AUTO_UPGRADE',
  modelCycle: 'PINNED',
  prepareData: 'PINNED',
  trainModel: 'PINNED',
  rollout: 'PINNED',
  batchPredict: 'PINNED',
  batchFeatures: 'PINNED',
  inferenceJob: 'PINNED',
  scheduledRetrain: 'PINNED',
  routingCheck: 'PINNED',
  promoteAcrossEnvironments: 'PINNED',
} as const satisfies Record<string, VersioningBehavior>;

export type VersionedWorkflowType = keyof typeof WORKFLOW_VERSIONING_BEHAVIORS;

/** Where a worker build sits in a Worker Deployment; both unset = an unversioned worker. */
export interface WorkerVersioningSettings {
  /** The Worker Deployment's name (FLYWHEEL_WORKER_DEPLOYMENT), e.g. `flywheel`. @default unset (unversioned) */
  deploymentName?: string | undefined;
  /** This build's id within the deployment (FLYWHEEL_WORKER_BUILD_ID), e.g. a git sha. @default unset */
  buildId?: string | undefined;
}

/**
 * The `workerDeploymentOptions` of a workflow worker, or `{}` when versioning is off (the default:
 * every workflow then runs on any worker, as before). The default behaviour applies to runs the
 * map does not decide: those started by an unversioned worker before versioning was switched on
 * keep moving to the newest code, as they did (workflows/versioning.ts).
 */
export function workerVersioningOptions(settings: WorkerVersioningSettings): {
  workerDeploymentOptions?: WorkerDeploymentOptions;
} {
  const { deploymentName, buildId } = settings;
  if (!deploymentName && !buildId) return {};
  if (!deploymentName || !buildId)
    throw new Error('worker versioning needs both a deployment name and a build id (FLYWHEEL_WORKER_DEPLOYMENT, FLYWHEEL_WORKER_BUILD_ID)');
  return {
    workerDeploymentOptions: {
      version: { deploymentName, buildId },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    },
  };
}
