// What a `command` or `onnx` trainer hands over and gets back. In: the splits encoded with the
// run's fitted features as .npy files and a task.json (docs/command-trainer.md, "In the cycle").
// Out: the model file, checked against the fitted features and the task and stamped with the
// metadata serving checks, at `<runKey>/model.onnx` like a built-in model.
import type { SourceContext } from '../data/sources.ts';
import { withDuck } from '../data/duck.ts';
import type { ModelIO } from '../features/tabular/model-io.ts';
import { appendOnnxMetadata, checkModelSignature, type ModelSignature } from '../onnx/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { describeDropped, loadSplit } from './data.ts';
import { encodeNpyFloat32 } from './npy.ts';
import type { Logger } from '../log.ts';
import type { ExternalModelResult, TrainActivityInput } from '../contracts/train-model.ts';

/** The signature serving feeds and reads, for `io`'s fitted features and task. */
export function signatureOf(io: ModelIO): ModelSignature {
  return { inputDim: io.encoder.dimension, output: io.head.onnxOutput, units: io.head.units, kind: io.head.onnxOutput };
}

/** `task.json`: what the command needs to know to train and export a model Flywheel can serve. */
export function taskFile(io: ModelIO): Record<string, unknown> {
  return {
    kind: io.task.kind,
    ...(io.task.kind === 'multiclass' ? { classes: io.task.classes } : {}),
    inputDim: io.encoder.dimension,
    output: io.head.onnxOutput,
    featureNames: io.encoder.names(),
  };
}

export interface CycleInputs {
  train: string;
  validation: string;
  task: string;
}

/**
 * Encodes the train and validation splits with the fitted features and stores them under
 * `<runKey>/inputs/`. `task.json` is written last, so a retry that finds it reuses the inputs
 * (they depend only on the splits and the fitted features, which the run key pins).
 */
export async function writeCycleInputs(
  store: ArtifactStore,
  sources: SourceContext,
  runKey: string,
  io: ModelIO,
  splits: { trainUri: string; validationUri: string; limitRows?: number },
  logger: Logger,
): Promise<CycleInputs> {
  const prefix = `${runKey}/inputs`;
  const uris: CycleInputs = {
    train: store.uriFor(`${prefix}/train`),
    validation: store.uriFor(`${prefix}/validation`),
    task: store.uriFor(`${prefix}/task.json`),
  };
  if (await store.stat(`${prefix}/task.json`)) return uris;
  const limit = splits.limitRows ? { limit: splits.limitRows } : {};
  await withDuck(async (duck) => {
    for (const [name, uri] of [
      ['train', splits.trainUri],
      ['validation', splits.validationUri],
    ] as const) {
      const data = await loadSplit(duck, sources, uri, io, {
        ...limit,
        onDropped: (d) =>
          logger.warn(
            { runKey, split: name, dropped: d },
            `rows of classes the features were not fitted with left out: ${describeDropped(d)}`,
          ),
      });
      await store.put(`${prefix}/${name}/features.npy`, encodeNpyFloat32(data.x, [data.rows, data.dim]));
      await store.put(`${prefix}/${name}/labels.npy`, encodeNpyFloat32(data.y, [data.rows]));
    }
  });
  await store.put(`${prefix}/task.json`, JSON.stringify(taskFile(io), null, 2));
  return uris;
}

/**
 * Checks `bytes` against `io` (InvalidModelError, permanent, when they disagree), stamps the
 * metadata serving checks, and stores the result as `<runKey>/model.onnx` (write-once: other bytes
 * already there fail with ArtifactExistsError). Returns its URI.
 */
export async function storeExternalModel(
  store: ArtifactStore,
  runKey: string,
  bytes: Uint8Array,
  io: ModelIO,
  metadata: { datasetVersion: string; trainer: string },
  /** The run's owner id (its workflow run): a retried attempt of the same run may replace the file. */
  owner?: string,
): Promise<string> {
  await checkModelSignature(bytes, signatureOf(io));
  const stamped = appendOnnxMetadata(bytes, {
    featureSpecHash: io.hash,
    datasetVersion: metadata.datasetVersion,
    runKey,
    trainer: metadata.trainer,
    task: io.task.kind,
    ...(io.task.kind === 'multiclass' ? { classes: JSON.stringify(io.task.classes) } : {}),
  });
  // Write-once, like a built-in model (lib/training/export.ts).
  return (await store.putOnce(`${runKey}/model.onnx`, stamped, owner ? { owner } : {})).uri;
}

/** The result of a `command` or `onnx` run: what every candidate carries, plus the trainer's own. */
export function externalResult(
  input: TrainActivityInput,
  io: ModelIO,
  run: Pick<ExternalModelResult, 'trainer' | 'modelUri' | 'identity'> &
    Partial<Pick<ExternalModelResult, 'metrics' | 'resumedFrom' | 'lastCheckpointUri' | 'skippedCheckpoints'>> & {
      hyperparameters: Record<string, unknown>;
      lineage: Pick<ExternalModelResult['lineage'], 'command' | 'sourceUri' | 'sourceSha256'>;
    },
): ExternalModelResult {
  return {
    trainer: run.trainer,
    runKey: input.runKey,
    modelUri: run.modelUri,
    featureSpecHash: io.hash,
    lineage: {
      datasetVersion: input.datasetVersion,
      trainUri: input.trainUri,
      validationUri: input.validationUri,
      featureSpecUri: input.featureSpecUri,
      featureSpecHash: io.hash,
      task: io.task.kind,
      hyperparameters: run.hyperparameters,
      ...run.lineage,
    },
    task: io.task,
    metrics: run.metrics ?? {},
    resumedFrom: run.resumedFrom ?? null,
    lastCheckpointUri: run.lastCheckpointUri ?? null,
    skippedCheckpoints: run.skippedCheckpoints ?? [],
    identity: run.identity,
  };
}
