// CPU worker process: all workflows plus data, evaluation, batch and training activities on
// flywheel-cpu, and the short control activities on flywheel-control with their own slots.
import { exitOnFatal } from '../../lib/fatal.ts';
import { workerVersioningOptions } from '../../lib/temporal/versioning.ts';
import { runWorkerProcess } from '../shared/run.ts';
import { controlActivities, cpuActivities } from './activities.ts';

// Versioned when FLYWHEEL_WORKER_DEPLOYMENT and FLYWHEEL_WORKER_BUILD_ID are set (both workers
// of the process share the version, so a pinned workflow's control activities reach this build).
await runWorkerProcess('cpu', cpuActivities, {
  control: controlActivities,
  deployment: (config) => workerVersioningOptions(config.worker).workerDeploymentOptions,
}).catch(exitOnFatal);
