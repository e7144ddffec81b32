// The workflow bundle of tests/integration/gitops.test.ts: the two workflows GitOps drives (a
// smaller bundle than workflows/index.ts, so the file stays within its time budget).
export { gitopsReconciler } from '../../workflows/gitops-reconciler.ts';
export { modelLifecycle } from '../../workflows/model-lifecycle.ts';
export { modelCycle } from '../../workflows/model-cycle.ts';
