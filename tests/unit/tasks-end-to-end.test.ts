// Each new task end to end on a real dataset from vega-datasets, small enough for a unit test:
// encode with lib/features/tabular, train the TF.js MLP for a few epochs, export ONNX, check that
// ONNX Runtime scores like TF.js (≤ 1e-5) and that the metrics beat the trivial baseline.
// Penguins species (JSON) is the multiclass task; cars' miles per gallon (JSON) the regression.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { withDuck, type Duck } from '../../lib/data/duck.ts';
import { vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import { evaluateMulticlass, evaluateRegression, multiclassLogLoss } from '../../lib/evaluation/index.ts';
import {
  batchFromDuckColumns,
  createFeatureEncoder,
  featureColumnsSelect,
  fitFeatures,
  parseFeatureSpec,
} from '../../lib/features/tabular/index.ts';
import { OnnxSession, exportMlpToOnnx } from '../../lib/onnx/index.ts';
import { encodeLabels, fitClasses, type Task } from '../../lib/tasks/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { exportRun, mlpWeightsFrom } from '../../lib/training/export.ts';
import { disposeVariables, initVariables, restore } from '../../lib/training/tfjs/model.ts';
import { Rng } from '../../lib/random.ts';
import { predictOutputs, trainMlp, type Dataset, type TrainResult } from '../../lib/training/tfjs/trainer.ts';

const data = vegaDatasetsDataDir();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Splits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  /** Raw label values of the training rows. */
  trainLabels: unknown[];
}

/**
 * Loads `table` (already created), splits rows by a stable hash of their position (60/20/20),
 * fits the features on the training rows only and encodes every split.
 */
async function splits(
  duck: Duck,
  table: string,
  specInput: unknown,
  label: string,
  task: (trainLabels: unknown[]) => Task,
): Promise<Splits & { task: Task }> {
  await duck.run(`CREATE TABLE numbered AS SELECT *, hash(row_number() OVER ()) % 5 AS fold FROM ${table}`);
  await duck.run(`CREATE TABLE train AS SELECT * FROM numbered WHERE fold < 3`);
  const spec = parseFeatureSpec(specInput);
  const fitted = await fitFeatures(duck, 'train', spec, { fittedOn: table });
  const encoder = createFeatureEncoder(fitted);
  const read = async (where: string) => {
    const cols = await duck.columns(`SELECT ${featureColumnsSelect(fitted.spec)}, "${label}" AS __label FROM numbered WHERE ${where}`);
    const labels = cols.__label as unknown[];
    return { x: encoder.encode(batchFromDuckColumns(fitted.spec, cols)), labels, rows: labels.length };
  };
  const [train, validation, test] = await Promise.all([read('fold < 3'), read('fold = 3'), read('fold = 4')]);
  const t = task(train.labels);
  const dataset = (s: typeof train): Dataset => ({ x: s.x, y: encodeLabels(t, s.labels as never), rows: s.rows, dim: encoder.dimension });
  return { task: t, train: dataset(train), validation: dataset(validation), test: dataset(test), trainLabels: train.labels };
}

/** TF.js outputs of the trained weights, and ONNX Runtime's on the exported model. */
async function scoreBoth(result: TrainResult, task: Task, test: Dataset): Promise<{ tfjs: Float32Array; onnx: Float32Array }> {
  const outputs = result.layers[result.layers.length - 1]![1];
  const vars = initVariables({ inputDim: test.dim, hidden: result.config.hidden, outputs }, new Rng(0));
  let tfjs: Float32Array;
  try {
    restore(vars, result.weights);
    tfjs = predictOutputs(vars, test, task);
  } finally {
    disposeVariables(vars);
  }
  const session = await OnnxSession.create(
    exportMlpToOnnx(mlpWeightsFrom(result.weights, result.layers, task), { featureSpecHash: 'sha256:test', datasetVersion: 'test' }),
  );
  try {
    expect(session.outputDim).toBe(outputs);
    return { tfjs, onnx: await session.run(test.x, test.rows) };
  } finally {
    await session.dispose();
  }
}

/** What a training activity does: exportRun writes fp32 and int8 models and measures their parity. */
async function exportParity(result: TrainResult, task: Task, train: Dataset, validation: Dataset) {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-tasks-'));
  try {
    const store = await LocalArtifactStore.create(pathToFileURL(root).toString());
    const meta = { featureSpecHash: 'sha256:test', datasetVersion: 'test' };
    return (await exportRun(store, 'runs/1', result.weights, result.layers, result.config.hidden, train, validation, meta, task)).parity;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const config = { hidden: [16], batchSize: 32, learningRate: 0.01, epochs: 30, patience: 5, seed: 3 };

describe('multiclass: penguins species', () => {
  it('trains a softmax head, exports it to ONNX with TF.js parity, and beats the majority class', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE penguins AS SELECT * FROM read_json_auto('${join(data, 'penguins.json')}')`);
      const { task, train, validation, test } = await splits(
        duck,
        'penguins',
        {
          features: [
            { name: 'island', column: 'Island', kind: 'categorical' },
            { name: 'sex', column: 'Sex', kind: 'categorical', vocabulary: { minCount: 2 } },
            { name: 'beak_length', column: 'Beak Length (mm)', kind: 'numeric' },
            { name: 'beak_depth', column: 'Beak Depth (mm)', kind: 'numeric' },
            { name: 'flipper', column: 'Flipper Length (mm)', kind: 'numeric' },
            { name: 'mass', column: 'Body Mass (g)', kind: 'numeric' },
          ],
        },
        'Species',
        (labels) => ({ kind: 'multiclass', classes: fitClasses(labels as string[]) }),
      );
      expect(task).toEqual({ kind: 'multiclass', classes: ['Adelie', 'Chinstrap', 'Gentoo'] });
      if (task.kind !== 'multiclass') throw new Error('unreachable');
      const result = await trainMlp({ ...config, task }, train, validation);
      expect(result.layers.at(-1)).toEqual([16, 3]);
      expect(result.bestValLoss).toBeLessThan(Math.log(3)); // better than uniform probabilities

      const { tfjs, onnx } = await scoreBoth(result, task, test);
      expect(maxAbsDiff(onnx, tfjs)).toBeLessThanOrEqual(1e-5);

      const parity = await exportParity(result, task, train, validation);
      expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(parity.int8MaxAbsDiff).toBeLessThan(0.1);

      const metrics = evaluateMulticlass({ probabilities: onnx, labels: test.y, classes: task.classes, slices: {} });
      const counts = [0, 0, 0];
      for (const c of train.y) counts[c]!++;
      const majority = counts.indexOf(Math.max(...counts));
      const majorityAccuracy = test.y.filter((c) => c === majority).length / test.rows;
      const prior = Float32Array.from({ length: test.rows * 3 }, (_, i) => counts[i % 3]! / train.rows);
      expect(metrics.accuracy).toBeGreaterThan(majorityAccuracy + 0.3);
      expect(metrics.accuracy).toBeGreaterThan(0.9);
      expect(metrics.macroF1).toBeGreaterThan(0.85);
      expect(metrics.logLoss).toBeLessThan(multiclassLogLoss(prior, test.y, 3));
    });
  }, 20_000);
});

describe('regression: cars miles per gallon', () => {
  it('trains a linear head on a standardised target, exports it in raw units, and beats the mean', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE cars AS SELECT * FROM read_json_auto('${join(data, 'cars.json')}') WHERE Miles_per_Gallon IS NOT NULL`);
      const { task, train, validation, test } = await splits(
        duck,
        'cars',
        {
          features: [
            { name: 'cylinders', column: 'Cylinders', kind: 'numeric' },
            { name: 'displacement', column: 'Displacement', kind: 'numeric' },
            { name: 'horsepower', column: 'Horsepower', kind: 'numeric', impute: 'median' },
            { name: 'weight', column: 'Weight_in_lbs', kind: 'numeric' },
            { name: 'acceleration', column: 'Acceleration', kind: 'numeric' },
            { name: 'origin', column: 'Origin', kind: 'categorical' },
          ],
        },
        'Miles_per_Gallon',
        () => ({ kind: 'regression' }),
      );
      const result = await trainMlp({ ...config, task }, train, validation);
      expect(result.targetScaling!.mean).toBeGreaterThan(15);
      expect(result.targetScaling!.std).toBeGreaterThan(4);
      expect(result.bestValLoss).toBeLessThan(0.5); // standardised MSE: the mean predictor scores ≈ 1

      const { tfjs, onnx } = await scoreBoth(result, task, test);
      // Raw units (mpg ≈ 10–45): 1e-5 absolute is float32 rounding of the last layer.
      expect(maxAbsDiff(onnx, tfjs)).toBeLessThanOrEqual(1e-5);

      const parity = await exportParity(result, task, train, validation);
      expect(parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
      expect(parity.int8MaxAbsDiff).toBeLessThan(0.05 * result.targetScaling!.mean);

      const metrics = evaluateRegression({ predictions: onnx, targets: test.y, slices: {} });
      const baseline = evaluateRegression({
        predictions: new Float32Array(test.rows).fill(result.targetScaling!.mean),
        targets: test.y,
        slices: {},
      });
      expect(metrics.rmse).toBeLessThan(0.7 * baseline.rmse);
      expect(metrics.mae).toBeLessThan(baseline.mae);
      expect(metrics.r2).toBeGreaterThan(0.6);
      expect(Math.abs(metrics.residuals.mean)).toBeLessThan(2); // in mpg: the scaling was undone
    });
  }, 20_000);
});
