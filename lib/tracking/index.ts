// Experiment tracking: training runs and drift checks in Flywheel's database (store.ts), mirrored
// to MLflow when the registry is MLflow (mlflow-runs.ts).
import { MlflowRegistry, type ModelRegistry } from '../registry/index.ts';
import { MlflowRunMirror } from './mlflow-runs.ts';

/** The MLflow run mirror when the registry is MLflow (same server, same credentials), else none. */
export function runMirrorFor(registry: ModelRegistry): MlflowRunMirror | undefined {
  return registry instanceof MlflowRegistry ? new MlflowRunMirror(registry.client) : undefined;
}

export * from './types.ts';
export * from './store.ts';
export { captureSystemInfo, visibleGpus } from './system.ts';
export { epochCollector, epochsOfHistory } from './epochs.ts';
export { MlflowRunMirror, experimentName, RUN_TAGS, type MirroredRun, type RunArtifactFile } from './mlflow-runs.ts';
export { trackedRunOf } from './record.ts';
