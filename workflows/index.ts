// The workflow bundle entry: every workflow the CPU worker runs, exported by name.
// Deterministic code only: no Node built-ins, no I/O (tests/unit/workflow-bundle.test.ts checks).
// Each type's Worker Deployment Versioning behaviour (pinned or auto-upgrade), attached on load.
import './versioning.ts';
export { routingCheck } from './routing-check.ts';
export { prepareData } from './prepare-data.ts';
export { trainModel } from './train-model.ts';
export { batchPredict } from './batch-predict.ts';
export { batchFeatures } from './batch-features.ts';
export { inferenceJob } from './inference-job.ts';
export { modelLifecycle } from './model-lifecycle.ts';
export { modelCycle } from './model-cycle.ts';
export { scheduledRetrain } from './scheduled-retrain.ts';
export { rollout } from './rollout.ts';
export { driftMonitor } from './drift-monitor.ts';
export { gitopsReconciler } from './gitops-reconciler.ts';
export { promoteAcrossEnvironments } from './promote-across-environments.ts';
