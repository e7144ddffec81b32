// One home per contract. Each workflow's contract is `lib/contracts/<workflow>.ts`: its input and
// output types, its signals/Updates/Queries, a typed handle (`…Workflow`) that clients start it
// by, and the inputs/outputs of the activities that workflow calls. `serving-admin.ts` is the
// inference server's HTTP contract (admin replies, error body). Names here are recorded in
// histories: workflow, signal, Update and Query names never change (tests/unit/contracts.test.ts).
export * from './batch-features.ts';
export * from './batch-predict.ts';
export * from './drift-monitor.ts';
export * from './gitops.ts';
export * from './inference-job.ts';
export * from './model-cycle.ts';
export * from './model-lifecycle.ts';
export * from './prepare-data.ts';
export * from './promotion.ts';
export * from './rollout.ts';
export * from './routing-check.ts';
export * from './scheduled-retrain.ts';
export * from './serving-admin.ts';
export * from './train-model.ts';
export * from './workflow-ref.ts';
