// Turns a finished TF.js run into ONNX: the fp32 model (feature-spec hash and dataset version in
// its metadata) and an int8 static-QDQ variant calibrated on training rows, with the parity of
// each against TF.js measured on up to 10,000 validation rows.
import { exportMlpToOnnx, OnnxSession, quantizeMlpInt8, type MlpWeights, type OnnxModelMetadata } from '../onnx/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { taskHead, type Task } from '../tasks/task.ts';
import type { NamedTensor } from './tfjs/checkpoint-format.ts';
import { initVariables, restore, disposeVariables } from './tfjs/model.ts';
import { Rng } from '../random.ts';
import { predictOutputs, predictProbabilities, type Dataset } from './tfjs/trainer.ts';

export const PARITY_ROWS = 10_000;

/** The trained weights as an exportable MLP whose last layer is `task`'s head (binary by default). */
export function mlpWeightsFrom(weights: readonly NamedTensor[], layers: ReadonlyArray<[number, number]>, task?: Task): MlpWeights {
  const byName = new Map(weights.map((w) => [w.name, w]));
  const mlp: MlpWeights = {
    inputDim: layers[0]![0],
    layers: layers.map(([inputs, units], i) => ({
      inputs,
      units,
      weights: byName.get(`kernel_${i}`)!.data,
      bias: byName.get(`bias_${i}`)!.data,
      activation: i === layers.length - 1 ? (task ? taskHead(task).activation : 'sigmoid') : 'relu',
    })),
  };
  // Binary MLPs keep their old shape (no `head` key).
  if (task && task.kind !== 'binary') mlp.head = task.kind;
  return mlp;
}

function head(data: Dataset, rows: number): Dataset {
  const n = Math.min(rows, data.rows);
  return { x: data.x.subarray(0, n * data.dim), y: data.y.subarray(0, n), rows: n, dim: data.dim };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface ExportedModels {
  modelUri: string;
  int8ModelUri: string;
  sizeBytes: number;
  int8SizeBytes: number;
  parity: { rows: number; maxAbsDiff: number; int8MaxAbsDiff: number };
}

export async function exportRun(
  store: ArtifactStore,
  runKey: string,
  weights: readonly NamedTensor[],
  layers: ReadonlyArray<[number, number]>,
  hidden: number[],
  train: Dataset,
  validation: Dataset,
  metadata: OnnxModelMetadata,
  /** @default { kind: 'binary' } */
  task?: Task,
  /** The run's owner id (its workflow run): a retried attempt of the same run may replace its files. */
  owner?: string,
): Promise<ExportedModels> {
  const mlp = mlpWeightsFrom(weights, layers, task);
  const fp32 = exportMlpToOnnx(mlp, metadata);
  const calibration = head(train, PARITY_ROWS);
  const int8 = quantizeMlpInt8(mlp, calibration.x, metadata);
  const sample = head(validation, PARITY_ROWS);

  const outputs = layers[layers.length - 1]![1];
  const vars = initVariables(outputs === 1 ? { inputDim: mlp.inputDim, hidden } : { inputDim: mlp.inputDim, hidden, outputs }, new Rng(0));
  let reference: Float32Array;
  try {
    restore(vars, weights);
    reference = task ? predictOutputs(vars, sample, task) : predictProbabilities(vars, sample); // tidies its own tensors
  } finally {
    disposeVariables(vars);
  }
  const measure = async (bytes: Uint8Array) => {
    const session = await OnnxSession.create(bytes);
    try {
      return maxAbsDiff(await session.run(sample.x, sample.rows), reference);
    } finally {
      await session.dispose();
    }
  };
  // Write-once: a registry version may point at these files. The same bytes again succeed; other
  // bytes under the run key fail with ArtifactExistsError unless this run wrote them (an attempt
  // that died after exporting: resumed training matches to 1e-5, not to the bit).
  const put = { contentType: 'application/onnx', ...(owner ? { owner } : {}) };
  const model = await store.putOnce(`${runKey}/model.onnx`, fp32, put);
  const model8 = await store.putOnce(`${runKey}/model.int8.onnx`, int8, put);
  return {
    modelUri: model.uri,
    int8ModelUri: model8.uri,
    sizeBytes: fp32.byteLength,
    int8SizeBytes: int8.byteLength,
    parity: { rows: sample.rows, maxAbsDiff: await measure(fp32), int8MaxAbsDiff: await measure(int8) },
  };
}
