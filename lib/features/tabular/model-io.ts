// A model's inputs and outputs as its fitted features describe them: the encoder (request or
// table columns → Float32 vectors), the task with its fitted classes (→ output head, prediction
// fields, how a feedback label is read). Training, evaluation, batch scoring, serving and the
// monitor all build it from the same artifact, so none of them can disagree about a column.
import { getJson, type ArtifactStore } from '../../storage/index.ts';
import { BINARY_TASK, taskHead, type Task, type TaskHead } from '../../tasks/task.ts';
import { createFeatureEncoder, type FeatureEncoder } from './encode.ts';
import { inputColumns } from './instances.ts';
import type { InputKind } from './spec.ts';
import { FITTED_FEATURES_FORMAT, FittedFeaturesError, parseFittedFeatures, type FittedFeatures } from './state.ts';

export interface ModelIO {
  readonly fitted: FittedFeatures;
  readonly encoder: FeatureEncoder;
  /** fittedFeaturesHash: models record it and serving refuses a mismatch. */
  readonly hash: string;
  readonly task: Task;
  readonly head: TaskHead;
  /** Source columns a request or table row carries, in first-use order, with what each holds. */
  readonly inputs: readonly { column: string; kind: InputKind }[];
}

/** Compiles fitted features once; reuse the result per model version. */
export function modelIO(fitted: FittedFeatures): ModelIO {
  const encoder = createFeatureEncoder(fitted);
  const task = fitted.task ?? BINARY_TASK;
  return { fitted, encoder, hash: encoder.hash, task, head: taskHead(task), inputs: inputColumns(fitted.spec) };
}

/**
 * Reads and checks fitted features from the artifact store. State written by a built-in encoder of
 * an earlier version (it has a `kind`, not this `format`) is refused with what to do, not misread.
 */
export async function readFittedFeatures(store: ArtifactStore, uri: string): Promise<FittedFeatures> {
  const value = await getJson<unknown>(store, store.keyFor(uri));
  const legacy = (value as { kind?: unknown } | null)?.kind;
  if (legacy !== undefined && (value as { format?: unknown }).format !== FITTED_FEATURES_FORMAT)
    throw new FittedFeaturesError(
      `${uri} holds ${String(legacy)} feature state from before the feature spec language; retrain the model ` +
        `(\`flywheel pipeline retrain <model>\`) so it is fitted as ${FITTED_FEATURES_FORMAT}`,
    );
  return parseFittedFeatures(value, uri);
}

/** readFittedFeatures + modelIO. */
export async function loadModelIO(store: ArtifactStore, uri: string): Promise<ModelIO> {
  return modelIO(await readFittedFeatures(store, uri));
}
