// Attaches each workflow type's versioning behaviour (lib/temporal/versioning.ts) to its function,
// where the SDK reads it when a run starts on a worker.
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { WORKFLOW_VERSIONING_BEHAVIORS } from '../lib/temporal/versioning.ts';
import { batchFeatures } from './batch-features.ts';
import { batchPredict } from './batch-predict.ts';
import { driftMonitor } from './drift-monitor.ts';
import { gitopsReconciler } from './gitops-reconciler.ts';
import { inferenceJob } from './inference-job.ts';
import { modelCycle } from './model-cycle.ts';
import { modelLifecycle } from './model-lifecycle.ts';
import { prepareData } from './prepare-data.ts';
import { promoteAcrossEnvironments } from './promote-across-environments.ts';
import { rollout } from './rollout.ts';
import { routingCheck } from './routing-check.ts';
import { scheduledRetrain } from './scheduled-retrain.ts';
import { trainModel } from './train-model.ts';

const WORKFLOWS = {
  batchFeatures,
  batchPredict,
  driftMonitor,
  gitopsReconciler,
  inferenceJob,
  modelCycle,
  modelLifecycle,
  prepareData,
  promoteAcrossEnvironments,
  rollout,
  routingCheck,
  scheduledRetrain,
  trainModel,
} satisfies Record<keyof typeof WORKFLOW_VERSIONING_BEHAVIORS, (...args: never[]) => Promise<unknown>>;

for (const [name, fn] of Object.entries(WORKFLOWS)) {
  const versioningBehavior = WORKFLOW_VERSIONING_BEHAVIORS[name as keyof typeof WORKFLOWS];
  // Only on a versioned worker: an unversioned one that sends a behaviour has every workflow task
  // refused ("versioning behavior cannot be specified without deployment options"). The task's
  // deployment is that worker's (an unversioned worker reports a build id but no deployment name),
  // or, replaying, the one that first ran the run; a run
  // started before versioning was switched on gets the worker's default (AUTO_UPGRADE, as before).
  setWorkflowOptions(
    () => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {}),
    fn as () => Promise<unknown>,
  );
}
